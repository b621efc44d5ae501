import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { PostmarkConfig } from '../config';
import { applyEmailFeedback, parsePostmarkFeedback } from '../services/email-feedback';
import { UnreachableCaseError } from '../services/errors';

/** Postmark's webhook bodies are small; anything bigger is not one of them. */
const BODY_LIMIT = 64 * 1024;

/** Compares digests, so neither the length nor the content of the expected value leaks through timing. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function basicCredentials(header: string | undefined): { username: string; password: string } | null {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!match) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * POST /webhooks/postmark: Postmark's Delivery, Bounce and SpamComplaint webhooks (contract section 8). 404 while
 * POSTMARK_WEBHOOK_USERNAME / _PASSWORD are unset; 401 on other credentials (checked before the body is read);
 * 400 for a body that is not a Postmark webhook or lacks the Metadata; 422 for a message that is not the one last
 * sent for the invitation its Metadata names.
 */
export async function postmarkWebhookRoutes(app: FastifyInstance, options: { postmark: PostmarkConfig }) {
  const { webhookUsername, webhookPassword } = options.postmark;
  app.post(
    '/webhooks/postmark',
    {
      bodyLimit: BODY_LIMIT,
      schema: { hide: true },
      onRequest: async (request, reply) => {
        if (!webhookUsername || !webhookPassword) return reply.code(404).send({ message: 'Not found' });
        const given = basicCredentials(request.headers.authorization);
        // Both compared, whatever the first gives: the time taken does not tell which one was wrong.
        const userOk = sameSecret(given?.username ?? '', webhookUsername);
        const passwordOk = sameSecret(given?.password ?? '', webhookPassword);
        if (!given || !userOk || !passwordOk) {
          return reply.code(401).header('www-authenticate', 'Basic realm="postmark-webhooks"').send({ message: 'Invalid credentials' });
        }
      },
    },
    async (request, reply) => {
      const feedback = parsePostmarkFeedback(request.body);
      switch (feedback.kind) {
        case 'invalid':
          return reply.code(400).send({ message: feedback.why });
        case 'ignored':
          return reply.code(200).send({ result: 'ignored', message: feedback.why });
        case 'delivered':
        case 'bounced': {
          const outcome = await applyEmailFeedback(request.ctx.em, feedback);
          switch (outcome) {
            case 'applied':
            case 'unchanged':
              return reply.code(200).send({ result: outcome });
            // Postmark retries 4xx answers a few times; each retry changes nothing either.
            case 'stale':
              return reply.code(422).send({ message: 'Unknown MessageID: not the message last sent for this invitation' });
            case 'unknown':
              return reply.code(422).send({ message: 'No invitation matches this message (Metadata.invitationId, Metadata.tenantId)' });
            default:
              throw new UnreachableCaseError(outcome);
          }
        }
        default:
          throw new UnreachableCaseError(feedback);
      }
    },
  );
}
