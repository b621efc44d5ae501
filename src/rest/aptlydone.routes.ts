import { type Static, Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { refuseLargeAnonymousBodies } from '../http/anonymous-body-limit';
import type { BulkInviteOutcome, BulkInviteService, InviteUserCommand } from '../services/bulk-invite';
import { FAILURE_REASON } from './failure-reasons';
import {
  addNamedSchemas,
  errorResponses,
  idempotencyKeyHeaderSchema,
  idempotencyKeyOf,
  Nullable,
  Ref,
  useErrorEnvelope,
  useStrictValidation,
} from './rest-support';

/**
 * The request example Swagger UI's "Try it out" sends. It has no `tenantId` (the token's tenant is used; a different
 * one is refused with 403) and no role, group, position or manager ids, which differ per tenant: copy real ones from
 * the GraphQL `roles`, `groups` and `positions` queries.
 */
const sampleRequest = {
  users: [{ firstName: 'Maryam', lastName: 'Smith', email: 'maryam.smith@example.com', mobilePhone: '+1 (555) 123-4567', existingUser: {} }],
};

export const AptlydoneError = Type.Object(
  {
    statusCode: Type.Integer({ description: 'The HTTP status again.' }),
    timestamp: Type.String({ format: 'date-time' }),
    message: Type.String({ description: 'Why the request as a whole was refused.' }),
  },
  { $id: 'AptlydoneError', description: "aptlydone's envelope for a whole-request error." },
);

const NullableString = (description?: string) => Nullable(Type.String(description ? { description } : {}));
const IdList = (description: string) => Nullable(Type.Array(Type.String(), { description }));

const AptlydoneGroupAssignment = Type.Object(
  {
    groupId: Type.String({ description: 'A group of the tenant (GraphQL `groups` query).' }),
    isPrimaryOrg: Type.Optional(Nullable(Type.Boolean({ description: 'At most one group per user may be primary.' }))),
  },
  { $id: 'AptlydoneGroupAssignment', additionalProperties: false, description: 'One group to add the user to.' },
);

/** One aptlydone user. Fields the product does not document are refused (400 naming the field). */
const AptlydoneUser = Type.Object(
  {
    firstName: Type.Optional(NullableString('At most 100 characters.')),
    lastName: Type.Optional(NullableString('At most 100 characters.')),
    email: Type.Optional(NullableString('Required unless existingUser.userId is given.')),
    mobilePhone: Type.Optional(NullableString('Normalised to E.164; "+1 (555) 123-4567" is valid.')),
    roleIds: Type.Optional(IdList('Role ids of the tenant (GraphQL `roles` query); at most 50.')),
    groups: Type.Optional(Nullable(Type.Array(Ref(AptlydoneGroupAssignment), { description: 'At most 50.' }))),
    managerId: Type.Optional(NullableString('The user id of a member of the same tenant.')),
    positionIds: Type.Optional(IdList('Position ids of the tenant (GraphQL `positions` query); at most 50.')),
    existingUser: Type.Optional(
      Nullable(
        Type.Object(
          { userId: Type.Optional(NullableString()) },
          { additionalProperties: false, description: '{} means nothing; {"userId": "<uuid>"} invites that registered user instead of by email.' },
        ),
      ),
    ),
  },
  { $id: 'AptlydoneUser', additionalProperties: false, description: 'One person to invite.' },
);

/** The body of POST /auth/v1/user/bulk-invite: the JSON schema Fastify validates and OpenAPI shows, and its TypeScript type. */
const AptlydoneBulkInviteRequest = Type.Object(
  {
    tenantId: Type.Optional(
      NullableString("Optional: leave it out to use the token's tenant. When given it must be the token's `tenantId` claim, otherwise 403."),
    ),
    users: Type.Array(Ref(AptlydoneUser), { description: 'The people to invite; results answer them in the same order.' }),
  },
  { $id: 'AptlydoneBulkInviteRequest', additionalProperties: false, example: sampleRequest },
);

type AptlydoneUser = Static<typeof AptlydoneUser>;

const AptlydoneInviteResult = Type.Object(
  {
    email: Type.String({ description: 'The email of the user this result answers (empty when none was given).' }),
    success: Type.Boolean(),
    message: Type.String({ description: '"Invitation sent successfully", "Email already exists", or why the user was refused.' }),
  },
  { $id: 'AptlydoneInviteResult', description: 'The outcome for one user.' },
);

const AptlydoneBulkInviteResponse = Type.Object(
  {
    statusCode: Type.Integer(),
    timestamp: Type.String({ format: 'date-time' }),
    message: Type.String(),
    data: Type.Object({
      total: Type.Integer({ description: 'successful + failed: the number of users in the request.' }),
      successful: Type.Integer(),
      failed: Type.Integer(),
      results: Type.Array(Ref(AptlydoneInviteResult), { description: 'One result per user, in request order.' }),
    }),
  },
  {
    $id: 'AptlydoneBulkInviteResponse',
    example: {
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
  },
);

const responseSchema = {
  200: { description: 'One result per user, in request order.', ...Ref(AptlydoneBulkInviteResponse) },
  ...errorResponses(AptlydoneError),
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
  addNamedSchemas(app, [AptlydoneError, AptlydoneGroupAssignment, AptlydoneUser, AptlydoneBulkInviteRequest, AptlydoneInviteResult, AptlydoneBulkInviteResponse]);

  app.withTypeProvider<TypeBoxTypeProvider>().post(
    '/auth/v1/user/bulk-invite',
    {
      schema: {
        operationId: 'aptlydoneBulkInvite',
        summary: 'Invite users into a tenant (aptlydone-compatible)',
        description:
          "Invites every user it can; each user succeeds or fails on its own. Sends invitation emails. The tenant is the token's: " +
          '`tenantId` may be left out, and when given must equal the token\'s `tenantId` claim (otherwise 403).',
        tags: ['aptlydone'],
        security: [{ bearerAuth: [] }],
        headers: idempotencyKeyHeaderSchema,
        body: Ref(AptlydoneBulkInviteRequest),
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
