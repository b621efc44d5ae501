import { Arg, Ctx, Field, InputType, Int, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../context';
import { getTenantSettings, updateTenantSettings } from '../services/tenant-settings.service';

@ObjectType('TenantSettings')
export class TenantSettingsType {
  @Field(() => Int, { nullable: true, description: 'Seats: INVITED + ACTIVE + SUSPENDED members at most. Null: unlimited.' })
  maxMembers!: number | null;
  @Field(() => [String], { description: 'Empty: every domain. Otherwise an email must be at one of these domains or a subdomain of one (lower case, IDNs as punycode).' })
  allowedEmailDomains!: string[];
}

@InputType()
export class TenantSettingsInput {
  @Field(() => Int, { nullable: true, description: 'Absent: unchanged; null: unlimited.' }) maxMembers?: number | null;
  @Field(() => [String], { nullable: true, description: 'Absent: unchanged; []: every domain allowed. No wildcards: a domain allows its subdomains.' })
  allowedEmailDomains?: string[] | null;
}

@Resolver()
export class TenantSettingsResolver {
  @Query(() => TenantSettingsType, { description: 'Requires tenant:admin.' })
  tenantSettings(@Ctx() ctx: RequestContext) {
    return getTenantSettings(ctx);
  }

  @Mutation(() => TenantSettingsType, { description: 'Requires tenant:admin. Only the fields given change.' })
  updateTenantSettings(@Ctx() ctx: RequestContext, @Arg('input', () => TenantSettingsInput) input: TenantSettingsInput) {
    return updateTenantSettings(ctx, input);
  }
}
