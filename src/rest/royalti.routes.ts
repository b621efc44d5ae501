import { type Static, Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { refuseLargeAnonymousBodies } from '../http/anonymous-body-limit';
import type { BulkInviteOutcome, BulkInviteService, InviteUserCommand } from '../services/bulk-invite';
import { FAILURE_REASON } from './failure-reasons';
import { MAX_REDIRECT_URL_LENGTH } from '../services/redirect-policy';
import {
  addNamedSchemas,
  displayName,
  errorResponses,
  idempotencyKeyHeaderSchema,
  idempotencyKeyOf,
  Nullable,
  Ref,
  useErrorEnvelope,
  useStrictValidation,
} from './rest-support';

/** As bulkInviteUsers documents it; the service checks it too. */
const MAX_MESSAGE_LENGTH = 2000;

export const RoyaltiError = Type.Object(
  { message: Type.String({ description: 'Why the request as a whole was refused.' }) },
  { $id: 'RoyaltiError', description: "royalti.io's envelope for a whole-request error." },
);

const NullableString = (description?: string) => Nullable(Type.String(description ? { description } : {}));

/** One royalti user. Fields the product does not document are refused (400 naming the field). */
const RoyaltiUser = Type.Object(
  {
    firstName: Type.Optional(NullableString('At most 100 characters.')),
    lastName: Type.Optional(NullableString('At most 100 characters.')),
    nickName: Type.Optional(NullableString('At most 100 characters.')),
    userType: Type.Optional(NullableString('Free-form kind of user, e.g. "artist"; at most 100 characters.')),
    email: Type.Optional(NullableString('Required.')),
    ipi: Type.Optional(NullableString('IPI name number: 9 to 11 digits.')),
    role: Type.Optional(NullableString('A role of the workspace, by name (case-insensitive).')),
    phone: Type.Optional(NullableString('E.164, or national format with `country` as the region.')),
    country: Type.Optional(NullableString('ISO 3166-1 alpha-2.')),
  },
  { $id: 'RoyaltiUser', additionalProperties: false, description: 'One person to create and invite.' },
);

/** The body of POST /user/bulk: the JSON schema Fastify validates and OpenAPI shows, and its TypeScript type. */
const RoyaltiBulkUsersRequest = Type.Object(
  {
    users: Type.Array(Ref(RoyaltiUser), { description: 'The people to create; createdUsers and errors follow this order.' }),
    sendEmail: Type.Optional(Nullable(Type.Boolean({ default: true, description: 'Send the invitation emails (default true).' }))),
    redirect_url: Type.Optional(
      Nullable(Type.String({ maxLength: MAX_REDIRECT_URL_LENGTH, description: 'Where the accept page sends the person afterwards (allow-listed).' })),
    ),
    message: Type.Optional(
      Nullable(Type.String({ maxLength: MAX_MESSAGE_LENGTH, description: 'Personal note for the invitation email (at most 2,000 characters).' })),
    ),
  },
  {
    $id: 'RoyaltiBulkUsersRequest',
    additionalProperties: false,
    // Works as is in Swagger UI's "Try it out" with a token of any tenant that has a role named Member (the
    // development demo tenant has one); `redirect_url` must be allowed by REDIRECT_URL_ALLOWLIST.
    example:
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
  },
);

type RoyaltiUser = Static<typeof RoyaltiUser>;

const RoyaltiBulkUsersResponse = Type.Object(
  {
    message: Type.String(),
    createdUsers: Type.Array(Type.String(), { description: '"First Last" of each invited user, in request order.' }),
    processedCount: Type.Integer({ description: 'Users that passed validation: invited plus already associated.' }),
    errors: Type.Array(Type.String(), { description: 'One sentence per refused user, in request order.' }),
  },
  {
    $id: 'RoyaltiBulkUsersResponse',
    example: {
      message: 'Done.',
      createdUsers: ['John Doe', 'Jericho Doe'],
      processedCount: 3,
      errors: ['User Jane Doe already associated with workspace!', 'Invalid email format for Jacob Doe'],
    },
  },
);

const responseSchema = {
  200: { description: 'Invited users by name, how many reached the workspace, and one error per refused user.', ...Ref(RoyaltiBulkUsersResponse) },
  ...errorResponses(RoyaltiError),
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
    } else if (result.failure.code === 'ALREADY_MEMBER') {
      errors.push(`User ${name} already associated with workspace!`);
      processedCount++;
    } else {
      errors.push(`${FAILURE_REASON[result.failure.code]} for ${name}`);
    }
  }
  return { message: 'Done.', createdUsers, processedCount, errors };
}

/** POST /user/bulk, as the royalti.io API speaks it. The workspace is the token's tenant. */
export async function royaltiRoutes(app: FastifyInstance, opts: { bulkInvites: BulkInviteService }) {
  useErrorEnvelope(app, (_status, message) => ({ message }));
  refuseLargeAnonymousBodies(app);
  useStrictValidation(app);
  addNamedSchemas(app, [RoyaltiError, RoyaltiUser, RoyaltiBulkUsersRequest, RoyaltiBulkUsersResponse]);

  app.withTypeProvider<TypeBoxTypeProvider>().post(
    '/user/bulk',
    {
      schema: {
        operationId: 'royaltiBulkCreateUsers',
        summary: 'Create users in the workspace (royalti.io-compatible)',
        description: 'Creates and invites every user it can; each user succeeds or fails on its own.',
        tags: ['royalti'],
        security: [{ bearerAuth: [] }],
        headers: idempotencyKeyHeaderSchema,
        body: Ref(RoyaltiBulkUsersRequest),
        response: responseSchema,
      },
    },
    async (request) => {
      const body = request.body;
      const outcome = await opts.bulkInvites.bulkInviteUsers(request.ctx, {
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
