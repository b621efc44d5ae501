import { DateTimeResolver } from 'graphql-scalars';
import { Arg, Ctx, Field, ID, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../context';
import { createScimToken, listScimTokens, revokeScimToken } from '../services/scim/scim-token.service';

@ObjectType('ScimToken', { description: 'A bearer token of the SCIM 2.0 endpoints (/scim/v2) for this tenant. Its secret is never shown again.' })
export class ScimTokenType {
  @Field(() => ID, { description: 'The token’s id (also the prefix of its secret).' }) id!: string;
  @Field(() => String, { nullable: true, description: 'What the token is for, e.g. "Okta production".' }) description!: string | null;
  @Field(() => DateTimeResolver, { description: 'When the token was created.' }) createdAt!: Date;
  @Field(() => DateTimeResolver, { nullable: true, description: 'When the token last authenticated a SCIM request (kept to the minute); null if never.' })
  lastUsedAt!: Date | null;
}

@ObjectType('ScimTokenWithSecret', { description: 'A new SCIM token and its secret, shown only in this response (stored hashed).' })
export class ScimTokenWithSecretType {
  @Field(() => ScimTokenType, { description: 'The token.' }) token!: ScimTokenType;
  @Field(() => String, { description: 'The bearer secret to give the identity provider: Authorization: Bearer <secret>.' }) secret!: string;
}

@Resolver()
export class ScimTokenResolver {
  @Query(() => [ScimTokenType], { description: 'Requires tenant:admin. The tenant’s SCIM tokens that are not revoked, newest first.' })
  scimTokens(@Ctx() ctx: RequestContext) {
    return listScimTokens(ctx);
  }

  @Mutation(() => ScimTokenWithSecretType, { description: 'Requires tenant:admin. Creates a SCIM token for this tenant; the secret is shown once.' })
  createScimToken(
    @Ctx() ctx: RequestContext,
    @Arg('description', () => String, { nullable: true, description: 'What the token is for (at most 200 characters).' }) description?: string | null,
  ) {
    return createScimToken(ctx, description);
  }

  @Mutation(() => Boolean, { description: 'Requires tenant:admin. The token stops working at once. False when there is no such active token in this tenant.' })
  revokeScimToken(@Ctx() ctx: RequestContext, @Arg('id', () => ID, { description: 'The token to revoke.' }) id: string) {
    return revokeScimToken(ctx, id);
  }
}
