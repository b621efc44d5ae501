import { type Static, Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { refuseLargeAnonymousBodies } from '../http/anonymous-body-limit';
import type { BulkInviteOutcome, BulkInviteService, InviteUserCommand } from '../services/bulk-invite';
import { FAILURE_REASON } from './failure-reasons';
import { errorResponses, idempotencyKeyHeaderSchema, idempotencyKeyOf, Nullable, useErrorEnvelope, useStrictValidation } from './rest-support';

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

const NullableString = (description?: string) => Nullable(Type.String(description ? { description } : {}));
const IdList = () => Nullable(Type.Array(Type.String()));

/** One aptlydone user. Fields the product does not document are refused (400 naming the field). */
const AptlydoneUser = Type.Object(
  {
    firstName: Type.Optional(NullableString()),
    lastName: Type.Optional(NullableString()),
    email: Type.Optional(NullableString()),
    mobilePhone: Type.Optional(NullableString('Normalised to E.164; "+1 (555) 123-4567" is valid.')),
    roleIds: Type.Optional(IdList()),
    groups: Type.Optional(
      Nullable(
        Type.Array(
          Type.Object({ groupId: Type.String(), isPrimaryOrg: Type.Optional(Nullable(Type.Boolean())) }, { additionalProperties: false }),
        ),
      ),
    ),
    managerId: Type.Optional(NullableString('The user id of a member of the same tenant.')),
    positionIds: Type.Optional(IdList()),
    existingUser: Type.Optional(
      Nullable(
        Type.Object(
          { userId: Type.Optional(NullableString()) },
          { additionalProperties: false, description: '{} means nothing; {"userId": "<uuid>"} invites that registered user instead of by email.' },
        ),
      ),
    ),
  },
  { additionalProperties: false },
);

/** The body of POST /auth/v1/user/bulk-invite: the JSON schema Fastify validates and OpenAPI shows, and its TypeScript type. */
const AptlydoneBody = Type.Object(
  {
    tenantId: Type.Optional(NullableString("Must equal the token's tenant.")),
    users: Type.Array(AptlydoneUser),
  },
  { additionalProperties: false, examples: [sampleRequest] },
);

type AptlydoneUser = Static<typeof AptlydoneUser>;

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
              message: result.failure.code === 'INVALID_INPUT' ? result.failure.message : FAILURE_REASON[result.failure.code],
            },
      ),
    },
  };
}

/** POST /auth/v1/user/bulk-invite, as the aptlydone API speaks it. Always sends invitation emails. */
export async function aptlydoneRoutes(app: FastifyInstance, opts: { bulkInvites: BulkInviteService }) {
  useErrorEnvelope(app, (status, message) => ({ statusCode: status, timestamp: new Date().toISOString(), message }));
  refuseLargeAnonymousBodies(app);
  useStrictValidation(app);

  app.withTypeProvider<TypeBoxTypeProvider>().post(
    '/auth/v1/user/bulk-invite',
    {
      schema: {
        summary: 'Invite users into a tenant (aptlydone-compatible)',
        description: 'Invites every user it can; each user succeeds or fails on its own. Sends invitation emails.',
        tags: ['aptlydone'],
        security: [{ bearerAuth: [] }],
        headers: idempotencyKeyHeaderSchema,
        body: AptlydoneBody,
        response: responseSchema,
      },
    },
    async (request) => {
      const outcome = await opts.bulkInvites.bulkInviteUsers(request.ctx, {
        tenantId: request.body.tenantId,
        users: request.body.users.map(toCommand),
        sendEmail: true,
        idempotencyKey: idempotencyKeyOf(request),
      });
      return toAptlydoneResponse(outcome);
    },
  );
}
