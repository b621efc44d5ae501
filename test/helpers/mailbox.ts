import type { TestApp } from './harness';

/** The accept token from the newest dev-mailbox email sent to `to`. */
export async function tokenFromMailbox(t: TestApp, to: string): Promise<string> {
  const [mail] = await t.sql<{ text: string }>('select text from dev_mail where "to" = $1 order by created_at desc limit 1', [to]);
  if (!mail) throw new Error(`no email to ${to}`);
  const match = /\/invitations\/accept\?token=([\w-]+)/.exec(mail.text);
  if (!match) throw new Error('no accept link in the email');
  return match[1];
}
