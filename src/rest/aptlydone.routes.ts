import type { FastifyInstance } from 'fastify';
import type { ContextFactoryDeps } from '../context';
import type { BulkInviteOutcome, BulkInviteService } from '../services/bulk-invite.service';
import type { InviteUserCommand } from '../services/invite-validation';
import { FAILURE_REASON } from './failure-reasons';
import { contextFor, errorResponses, idempotencyKeyHeaderSchema, idempotencyKeyOf, useErrorEnvelope } from './rest-support';

const nullableString = { type: ['string', 'null'] } as const;
const idList = { type: ['array', 'null'], items: { type: 'string' } } as const;

interface AptlydoneUser {
  firstName?: string | null;
  lastName?: string | null;
  email?: string | null;
  mobilePhone?: string | null;
  roleIds?: string[] | null;
  groups?: Array<{ groupId: string; isPrimaryOrg?: boolean | null }> | null;
  managerId?: string | null;
  positionIds?: string[] | null;
  existingUser?: { userId?: string | null } | null;
}

interface AptlydoneBody {
  tenantId?: string | null;
  users: AptlydoneUser[];
}

const sampleRequest = {
  tenantId: '42db2b59-b9c6-4705-a0d9-916e597cd4aa',
  users: [
    {
      firstName: 'Maryam',
      lastName: 'Smith',
      email: 'maryam.smith@example.com',
      mobilePhone: '+1 (555) 123-4567',
      roleIds: ['bbc5418c-8d81-4756-b3e6-84e1e87f06c3'],
      groups: [{ groupId: 'e9100cc7-048a-4d01-a64f-9e0030938f6a', isPrimaryOrg: true }],
      managerId: '623010c7-bbd4-4cab-94ca-a3b617a74933',
      positionIds: ['b545c2fe-681c-4cf6-a6f6-e0bcea69bad3'],
      existingUser: {},
    },
  ],
};

export const aptlydoneErrorSchema = {
  type: 'object',
  required: ['statusCode', 'timestamp', 'message'],
  properties: { statusCode: { type: 'integer' }, timestamp: { type: 'string', format: 'date-time' }, message: { type: 'string' } },
} as const;

const bodySchema = {
  type: 'object',
  required: ['users'],
  properties: {
    tenantId: { ...nullableString, description: "Must equal the token's tenant." },
    users: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          firstName: nullableString,
          lastName: nullableString,
          email: nullableString,
          mobilePhone: { ...nullableString, description: 'Normalised to E.164; "+1 (555) 123-4567" is valid.' },
          roleIds: idList,
          groups: {
            type: ['array', 'null'],
            items: {
              type: 'object',
              required: ['groupId'],
              properties: { groupId: { type: 'string' }, isPrimaryOrg: { type: ['boolean', 'null'] } },
            },
          },
          managerId: { ...nullableString, description: 'The user id of a member of the same tenant.' },
          positionIds: idList,
          existingUser: {
            type: ['object', 'null'],
            description: '{} means nothing; {"userId": "<uuid>"} invites that registered user instead of by email.',
            properties: { userId: nullableString },
          },
        },
      },
    },
  },
  examples: [sampleRequest],
} as const;

const responseSchema = {
  200: {
    description: 'One result per user, in request order.',
    type: 'object',
    required: ['statusCode', 'timestamp', 'message', 'data'],
    properties: {
      statusCode: { type: 'integer' },
      timestamp: { type: 'string', format: 'date-time' },
      message: { type: 'string' },
      data: {
        type: 'object',
        required: ['total', 'successful', 'failed', 'results'],
        properties: {
          total: { type: 'integer' },
          successful: { type: 'integer' },
          failed: { type: 'integer' },
          results: {
            type: 'array',
            items: {
              type: 'object',
              required: ['email', 'success', 'message'],
              properties: { email: { type: 'string' }, success: { type: 'boolean' }, message: { type: 'string' } },
            },
          },
        },
      },
    },
    examples: [
      {
        statusCode: 200,
        timestamp: '2025-06-25T06:16:48.664Z',
        message: 'Success',
        data: {
          total: 2,
          successful: 1,
          failed: 1,
          results: [
            { email: 'maryam.smith@example.com', success: true, message: 'Invitation sent successfully' },
            { email: 'john.doe@example.com', success: false, message: 'Email already exists' },
          ],
        },
      },
    ],
  },
  ...errorResponses(aptlydoneErrorSchema),
};

function toCommand(user: AptlydoneUser): InviteUserCommand {
  return {
    email: user.email,
    existingUserId: user.existingUser?.userId ?? null,
    firstName: user.firstName,
    lastName: user.lastName,
    phone: user.mobilePhone,
    roleIds: user.roleIds,
    groups: user.groups,
    managerId: user.managerId,
    positionIds: user.positionIds,
  };
}

export function toAptlydoneResponse(outcome: BulkInviteOutcome) {
  return {
    statusCode: 200,
    timestamp: new Date().toISOString(),
    message: 'Success',
    data: {
      total: outcome.total,
      successful: outcome.successful,
      failed: outcome.failed,
      results: outcome.results.map((result) =>
        result.kind === 'invited'
          ? { email: result.email, success: true, message: 'Invitation sent successfully' }
          : {
              email: result.email ?? '',
              success: false,
              message: result.code === 'INVALID_INPUT' ? result.message : FAILURE_REASON[result.code],
            },
      ),
    },
  };
}

/** POST /auth/v1/user/bulk-invite, as the aptlydone API speaks it. Always sends invitation emails. */
export async function aptlydoneRoutes(app: FastifyInstance, opts: { deps: ContextFactoryDeps; bulkInvites: BulkInviteService }) {
  useErrorEnvelope(app, (status, message) => ({ statusCode: status, timestamp: new Date().toISOString(), message }));

  app.post<{ Body: AptlydoneBody }>(
    '/auth/v1/user/bulk-invite',
    {
      schema: {
        summary: 'Invite users into a tenant (aptlydone-compatible)',
        description: 'Invites every user it can; each user succeeds or fails on its own. Sends invitation emails.',
        tags: ['aptlydone'],
        security: [{ bearerAuth: [] }],
        headers: idempotencyKeyHeaderSchema,
        body: bodySchema,
        response: responseSchema,
      },
    },
    async (request) => {
      const ctx = await contextFor(opts.deps, request);
      const outcome = await opts.bulkInvites.bulkInviteUsers(ctx, {
        tenantId: request.body.tenantId,
        users: request.body.users.map(toCommand),
        sendEmail: true,
        idempotencyKey: idempotencyKeyOf(request),
      });
      return toAptlydoneResponse(outcome);
    },
  );
}
