/** RFC 7644 section 3.12 `scimType` values this service uses. */
export type ScimType =
  | 'invalidFilter'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidSyntax'
  | 'mutability'
  | 'uniqueness'
  | 'tooMany';

/** The statuses a SCIM use case refuses with; the adapter sends them as they are, in the SCIM error schema. */
export type ScimStatus = 400 | 403 | 404 | 409 | 413 | 429;

/**
 * A SCIM-specific refusal (a bad filter, an unknown PATCH path, a duplicate userName). General refusals of the
 * shared use cases (UNAUTHENTICATED, RATE_LIMITED, ...) stay DomainErrors; the adapter maps both.
 */
export class ScimError extends Error {
  constructor(
    readonly status: ScimStatus,
    message: string,
    readonly scimType?: ScimType,
  ) {
    super(message);
    this.name = 'ScimError';
  }
}

export const badRequest = (scimType: ScimType, message: string) => new ScimError(400, message, scimType);
export const notFound = (what: string) => new ScimError(404, `${what} not found`);
export const conflict = (message: string) => new ScimError(409, message, 'uniqueness');
