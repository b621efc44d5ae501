import { createUnionType, Field, Int, InterfaceType, ObjectType } from 'type-graphql';
import { InviteErrorCode } from './enums';
import { InvitationType, UserType } from './invitation.types';

type Code = keyof typeof InviteErrorCode;

@ObjectType()
export class UserInvited {
  @Field(() => Int) index!: number;
  @Field(() => String, { nullable: true, description: 'Always set on UserInvited.' }) email!: string;
  @Field(() => Boolean) existingUser!: boolean;
  @Field(() => UserType, { nullable: true, description: 'Null in a dry run for a person not yet on the platform.' })
  user!: UserType | null;
  @Field(() => InvitationType, { nullable: true, description: 'Null in a dry run.' }) invitation!: InvitationType | null;
}

@InterfaceType({ description: 'Every failure of one person implements this.' })
export abstract class InviteError {
  @Field(() => Int) index!: number;
  @Field(() => String, { nullable: true }) email!: string | null;
  @Field(() => InviteErrorCode) code!: Code;
  @Field(() => String) message!: string;
}

@ObjectType({ implements: InviteError, description: 'INVALID_EMAIL, INVALID_INPUT, INVALID_PHONE, INVALID_COUNTRY or INVALID_IPI.' })
export class InvalidInputError extends InviteError {
  @Field(() => String, { nullable: true, description: 'The input field at fault.' }) field!: string | null;
}

@ObjectType({ implements: InviteError, description: 'DUPLICATE_IN_BATCH: the same person earlier in this request; the first one wins.' })
export class DuplicateInBatchError extends InviteError {
  @Field(() => Int) firstIndex!: number;
}

@ObjectType({ implements: InviteError, description: 'UNKNOWN_USER, UNKNOWN_ROLE, UNKNOWN_GROUP, UNKNOWN_POSITION or UNKNOWN_MANAGER.' })
export class UnknownReferenceError extends InviteError {
  @Field(() => String, { nullable: true }) field!: string | null;
  @Field(() => [String], { description: 'The ids (or role name) not found in this tenant.' }) unknown!: string[];
}

@ObjectType({ implements: InviteError, description: 'ALREADY_MEMBER: already a member of, or invited to, this tenant.' })
export class AlreadyMemberError extends InviteError {}

@ObjectType({ implements: InviteError, description: "DOMAIN_NOT_ALLOWED: the email's domain is not in the tenant's allowedEmailDomains." })
export class DomainNotAllowedError extends InviteError {
  @Field(() => String, { description: 'The domain as compared (lower case, punycode).' }) domain!: string;
}

@ObjectType({ implements: InviteError, description: "SEAT_LIMIT_REACHED: the tenant's maxMembers seats are taken (earlier users of this request filled the last ones)." })
export class SeatLimitReachedError extends InviteError {
  @Field(() => Int) maxMembers!: number;
}

export const BulkInviteResult = createUnionType({
  name: 'BulkInviteResult',
  description: 'results[i] answers users[i].',
  types: () =>
    [UserInvited, InvalidInputError, DuplicateInBatchError, UnknownReferenceError, AlreadyMemberError, DomainNotAllowedError, SeatLimitReachedError] as const,
});

@ObjectType()
export class BulkInviteUsersPayload {
  @Field(() => Int, { description: '== results.length == successful + failed' }) total!: number;
  @Field(() => Int) successful!: number;
  @Field(() => Int) failed!: number;
  @Field(() => Boolean) dryRun!: boolean;
  @Field(() => [BulkInviteResult]) results!: Array<typeof BulkInviteResult>;
}

