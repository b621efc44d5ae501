import { Arg, Ctx, Field, InputType, Int, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../context';
import { getTenantSettings, updateTenantSettings } from '../services/tenant-settings.service';

@ObjectType('TenantSettings', { description: "The token's tenant's limits on who can be invited." })
export class TenantSettingsType {
  @Field(() => Int, { nullable: true, description: 'Seats: INVITED + ACTIVE + SUSPENDED members at most. Null: unlimited.' })
  maxMembers!: number | null;
  @Field(() => [String], { description: 'Empty: every domain. Otherwise an email must be at one of these domains or a subdomain of one (lower case, IDNs as punycode).' })
  allowedEmailDomains!: string[];
}

@InputType({ description: 'The settings to change; a field left out keeps its value.' })
export class TenantSettingsInput {
  @Field(() => Int, {
    nullable: true,
    description: 'Absent: unchanged; null: unlimited; otherwise an integer from 0 to 10,000,000. Lowering it below the seats in use removes nobody; new invitations are refused until seats free up.',
  })
  maxMembers?: number | null;
  @Field(() => [String], {
    nullable: true,
    description:
      'Absent or null: unchanged; []: every domain allowed. At most 1,000 plain domain names (example.com), stored lower case with IDNs as punycode. No wildcards: a domain allows its subdomains.',
  })
  allowedEmailDomains?: string[] | null;
}

@Resolver()
export class TenantSettingsResolver {
  @Query(() => TenantSettingsType, { description: 'Requires tenant:admin.' })
  tenantSettings(@Ctx() ctx: RequestContext) {
    return getTenantSettings(ctx);
  }

  @Mutation(() => TenantSettingsType, { description: 'Requires tenant:admin. Only the fields given change.' })
  updateTenantSettings(
    @Ctx() ctx: RequestContext,
    @Arg('input', () => TenantSettingsInput, { description: 'The settings to change.' }) input: TenantSettingsInput,
  ) {
    return updateTenantSettings(ctx, input);
  }
}
