import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/** A new signing secret: "whsec_" and 32 random bytes in base64 (the Standard Webhooks form). */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

const SEALED = 'sealed:v1:';

/**
 * Secrets are HMAC keys the service must use again, so they are stored reversibly: sealed with AES-256-GCM under
 * WEBHOOK_SECRET_KEY when it is set (a database dump alone then signs nothing), else as they are.
 */
export class SecretBox {
  private readonly key: Buffer | null;

  constructor(secretKey: string | undefined) {
    this.key = secretKey ? createHash('sha256').update(secretKey).digest() : null;
  }

  seal(secret: string): string {
    if (!this.key) return secret;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return SEALED + [iv, cipher.getAuthTag(), sealed].map((b) => b.toString('base64')).join('.');
  }

  open(stored: string): string {
    if (!stored.startsWith(SEALED)) return stored;
    if (!this.key) throw new Error('A webhook secret is sealed but WEBHOOK_SECRET_KEY is not set');
    const [iv, tag, sealed] = stored.slice(SEALED.length).split('.').map((p) => Buffer.from(p, 'base64'));
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(sealed), decipher.final()]).toString('utf8');
  }
}

/**
 * The `webhook-signature` header value: one `v1,<base64>` per secret (after a rotation the old and the new one,
 * space-separated), computed by the `standardwebhooks` package over "<id>.<timestamp>.<body>".
 */
export function signatureHeader(secrets: readonly string[], id: string, timestamp: Date, body: string): string {
  return secrets.map((secret) => new Webhook(secret).sign(id, timestamp, body)).join(' ');
}
