import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { EmailStatus, InvitationStatus } from './enums';

@ObjectType('User', { description: 'A person on the platform, as this tenant sees them.' })
export class UserType {
  @Field(() => ID, { description: 'The same id in every tenant; usable as existingUserId or managerId.' }) id!: string;
  @Field(() => String, { description: 'The person\'s email address (identifies them platform-wide).' }) email!: string;
  @Field(() => String, { nullable: true, description: 'Given name as this tenant recorded it; null when none was given.' })
  firstName!: string | null;
  @Field(() => String, { nullable: true, description: 'Family name as this tenant recorded it; null when none was given.' })
  lastName!: string | null;
}

@ObjectType('Invitation', { description: 'One invitation of one person into the tenant, with the state of its email.' })
export class InvitationType {
  @Field(() => ID, { description: 'Pass it to resendInvitation or revokeInvitation.' }) id!: string;
  @Field(() => String, { description: 'Where the invitation email goes.' }) email!: string;
  @Field(() => InvitationStatus, { description: 'Whether the link can still be used, and why not.' }) status!: InvitationStatus;
  @Field(() => EmailStatus, { description: 'What happened to the invitation email.' }) emailStatus!: EmailStatus;
  @Field(() => String, { nullable: true, description: 'Why the email failed, when emailStatus is FAILED.' })
  emailError!: string | null;
  @Field(() => DateTimeResolver, { description: 'When the link stops working (INVITATION_TTL_DAYS after it was sent or last resent).' })
  expiresAt!: string;
  @Field(() => DateTimeResolver, { description: 'When the invitation was created.' }) createdAt!: string;
  @Field(() => String, { nullable: true, description: 'Where the accept page sends the person after accepting; null for none.' })
  redirectUrl!: string | null;
  @Field(() => ID, { nullable: true, description: 'The bulk request that created this invitation.' }) batchId!: string | null;
  @Field(() => String, { nullable: true, description: "The inviter's sub." }) invitedBy!: string | null;
  @Field(() => DateTimeResolver, { nullable: true, description: 'When the person accepted; null unless status is ACCEPTED.' }) acceptedAt!: string | null;
  @Field(() => String, { nullable: true, description: 'BCP 47, canonical.' }) locale!: string | null;
  @Field(() => JSONResolver, { nullable: true, description: 'The metadata the person was invited with.' }) metadata!: Record<string, unknown> | null;
  @Field(() => String, {
    nullable: true,
    description: 'The accept link: only in the bulkInviteUsers response that created the invitation with sendEmail false (null on replays and every later read).',
  })
  acceptUrl!: string | null;
}

@ObjectType({ description: 'Where a page of a list ends, for asking for the next one.' })
export class PageInfo {
  @Field(() => Boolean, { description: 'Whether there are more items after this page.' }) hasNextPage!: boolean;
  @Field(() => String, { nullable: true, description: 'Pass it as `after` to get the next page; null on an empty page.' })
  endCursor!: string | null;
}

@ObjectType({ description: 'One page of invitations, newest first.' })
export class InvitationConnection {
  @Field(() => Int, { description: 'How many invitations match the filter, across all pages.' }) totalCount!: number;
  @Field(() => [InvitationType], { description: 'The invitations of this page.' }) nodes!: InvitationType[];
  @Field(() => PageInfo, { description: 'How to get the next page.' }) pageInfo!: PageInfo;
}

@ObjectType({ description: 'The result of accepting an invitation.' })
export class AcceptInvitationPayload {
  @Field(() => InvitationType, { description: 'The invitation, now ACCEPTED.' }) invitation!: InvitationType;
  @Field(() => String, { nullable: true, description: 'Where the inviter asked to send the person next; null for none.' })
  redirectUrl!: string | null;
}
