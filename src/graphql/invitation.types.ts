import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { EmailStatus, InvitationStatus } from './enums';

@ObjectType('User')
export class UserType {
  @Field(() => ID) id!: string;
  @Field(() => String) email!: string;
  @Field(() => String, { nullable: true }) firstName!: string | null;
  @Field(() => String, { nullable: true }) lastName!: string | null;
}

@ObjectType('Invitation')
export class InvitationType {
  @Field(() => ID) id!: string;
  @Field(() => String) email!: string;
  @Field(() => InvitationStatus) status!: InvitationStatus;
  @Field(() => EmailStatus) emailStatus!: EmailStatus;
  @Field(() => String, { nullable: true, description: 'Why the email failed, when emailStatus is FAILED.' })
  emailError!: string | null;
  @Field(() => DateTimeResolver) expiresAt!: string;
  @Field(() => DateTimeResolver) createdAt!: string;
  @Field(() => String, { nullable: true }) redirectUrl!: string | null;
  @Field(() => ID, { nullable: true, description: 'The bulk request that created this invitation.' }) batchId!: string | null;
  @Field(() => String, { nullable: true, description: "The inviter's sub." }) invitedBy!: string | null;
  @Field(() => DateTimeResolver, { nullable: true }) acceptedAt!: string | null;
  @Field(() => String, { nullable: true, description: 'BCP 47, canonical.' }) locale!: string | null;
  @Field(() => JSONResolver, { nullable: true, description: 'The metadata the person was invited with.' }) metadata!: Record<string, unknown> | null;
  @Field(() => String, {
    nullable: true,
    description: 'The accept link: only in the bulkInviteUsers response that created the invitation with sendEmail false (null on replays and every later read).',
  })
  acceptUrl!: string | null;
}

@ObjectType()
export class PageInfo {
  @Field(() => Boolean) hasNextPage!: boolean;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

@ObjectType()
export class InvitationConnection {
  @Field(() => Int) totalCount!: number;
  @Field(() => [InvitationType]) nodes!: InvitationType[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}

@ObjectType()
export class AcceptInvitationPayload {
  @Field(() => InvitationType) invitation!: InvitationType;
  @Field(() => String, { nullable: true }) redirectUrl!: string | null;
}
