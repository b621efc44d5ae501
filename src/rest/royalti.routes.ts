import type { FastifyInstance } from 'fastify';
import type { ContextFactoryDeps } from '../context';
import type { BulkInviteOutcome, BulkInviteService } from '../services/bulk-invite.service';
import type { InviteUserCommand } from '../services/invite-validation';
import { FAILURE_REASON } from './failure-reasons';
import { contextFor, displayName, errorResponses, idempotencyKeyHeaderSchema, idempotencyKeyOf, useErrorEnvelope } from './rest-support';

const nullableString = { type: ['string', 'null'] } as const;

interface RoyaltiUser {
  firstName?: string | null;
  lastName?: string | null;
  nickName?: string | null;
  userType?: string | null;
  email?: string | null;
  ipi?: string | null;
  role?: string | null;
  phone?: string | null;
  country?: string | null;
}

interface RoyaltiBody {
  users: RoyaltiUser[];
  sendEmail?: boolean | null;
  redirect_url?: string | null;
  message?: string | null;
}

export const royaltiErrorSchema = {
  type: 'object',
  required: ['message'],
  properties: { message: { type: 'string' } },
} as const;

const bodySchema = {
  type: 'object',
  required: ['users'],
  properties: {
    users: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          firstName: nullableString,
          lastName: nullableString,
          nickName: nullableString,
          userType: nullableString,
          email: nullableString,
          ipi: { ...nullableString, description: 'IPI name number: 9 to 11 digits.' },
          role: { ...nullableString, description: 'A role of the workspace, by name (case-insensitive).' },
          phone: { ...nullableString, description: 'E.164, or national format with `country` as the region.' },
          country: { ...nullableString, description: 'ISO 3166-1 alpha-2.' },
        },
      },
    },
    sendEmail: { type: ['boolean', 'null'], default: true, description: 'Send the invitation emails (default true).' },
    redirect_url: { ...nullableString, description: 'Where the accept page sends the person afterwards (allow-listed).' },
    message: { ...nullableString, description: 'Personal note for the invitation email (at most 2,000 characters).' },
  },
  examples: [
    {
      users: [
        {
          firstName: 'John',
          lastName: 'Doe',
          nickName: 'JD',
          userType: 'artist',
          email: 'john.doe@example.com',
          ipi: '00012345678',
          role: 'Member',
          phone: '+1 (555) 123-4567',
          country: 'US',
        },
      ],
      sendEmail: true,
      redirect_url: 'https://app.example.com/welcome',
      message: 'Welcome aboard!',
    },
  ],
} as const;

const responseSchema = {
  200: {
    description: 'Invited users by name, how many reached the workspace, and one error per refused user.',
    type: 'object',
    required: ['message', 'createdUsers', 'processedCount', 'errors'],
    properties: {
      message: { type: 'string' },
      createdUsers: { type: 'array', items: { type: 'string' } },
      processedCount: { type: 'integer' },
      errors: { type: 'array', items: { type: 'string' } },
    },
    examples: [
      {
        message: 'Done.',
        createdUsers: ['John Doe', 'Jericho Doe'],
        processedCount: 3,
        errors: ['User Jane Doe already associated with workspace!', 'Invalid email format for Jacob Doe'],
      },
    ],
  },
  ...errorResponses(royaltiErrorSchema),
};

function toCommand(user: RoyaltiUser): InviteUserCommand {
  return {
    email: user.email,
    firstName: user.firstName,
    lastName: user.lastName,
    nickName: user.nickName,
    userType: user.userType,
    ipi: user.ipi,
    role: user.role,
    phone: user.phone,
    country: user.country,
  };
}

export function toRoyaltiResponse(users: RoyaltiUser[], outcome: BulkInviteOutcome) {
  const createdUsers: string[] = [];
  const errors: string[] = [];
  let processedCount = 0;
  for (const result of outcome.results) {
    const name = displayName(users[result.index]);
    if (result.kind === 'invited') {
      createdUsers.push(name);
      processedCount++;
    } else if (result.code === 'ALREADY_MEMBER') {
      errors.push(`User ${name} already associated with workspace!`);
      processedCount++;
    } else {
      errors.push(`${FAILURE_REASON[result.code]} for ${name}`);
    }
  }
  return { message: 'Done.', createdUsers, processedCount, errors };
}

/** POST /user/bulk, as the royalti.io API speaks it. The workspace is the token's tenant. */
export async function royaltiRoutes(app: FastifyInstance, opts: { deps: ContextFactoryDeps; bulkInvites: BulkInviteService }) {
  useErrorEnvelope(app, (_status, message) => ({ message }));

  app.post<{ Body: RoyaltiBody }>(
    '/user/bulk',
    {
      schema: {
        summary: 'Create users in the workspace (royalti.io-compatible)',
        description: 'Creates and invites every user it can; each user succeeds or fails on its own.',
        tags: ['royalti'],
        security: [{ bearerAuth: [] }],
        headers: idempotencyKeyHeaderSchema,
        body: bodySchema,
        response: responseSchema,
      },
    },
    async (request) => {
      const ctx = await contextFor(opts.deps, request);
      const body = request.body;
      const outcome = await opts.bulkInvites.bulkInviteUsers(ctx, {
        users: body.users.map(toCommand),
        sendEmail: body.sendEmail !== false,
        redirectUrl: body.redirect_url,
        message: body.message,
        idempotencyKey: idempotencyKeyOf(request),
      });
      return toRoyaltiResponse(body.users, outcome);
    },
  );
}
