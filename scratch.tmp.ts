import { createTestApp } from './test/helpers/harness';
import { listen, upload } from './test/helpers/imports';
(async () => {
  const t = await createTestApp({ LOG_LEVEL: 'debug', IMPORT_CHUNK_ROWS: '50', IMPORT_MAX_BYTES: String(2 * 1024 * 1024) });
  const a = await t.seedTenant('x');
  const base = await listen(t);
  const step = async (label: string, p: Promise<any>) => { const r = await Promise.race([p, new Promise((res) => setTimeout(() => res('TIMEOUT'), 5000))]); console.log(label, JSON.stringify(r).slice(0, 300)); };
  await step('empty', upload(base, a.token, ''));
  
  
  await step('anon', upload(base, undefined, 'email\nx@example.com\n'));
  await step('wrongtype', upload(base, a.token, '{}', { contentType: 'application/json' }));
  await t.close();
})();
