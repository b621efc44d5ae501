import { Field, ID, InputType, ObjectType } from 'type-graphql';

@ObjectType('Tenant', { description: 'An organisation (royalti.io\'s "workspace"): tokens act inside exactly one.' })
export class TenantType {
  @Field(() => ID, { description: 'Put this in the tenantId claim of tokens acting in the tenant.' }) id!: string;
  @Field(() => String, { description: 'The name shown in invitation emails and on the accept page.' }) name!: string;
}

@ObjectType('Role', { description: 'A role people of the tenant can be given (InviteUserInput.roleIds or .role).' })
export class RoleType {
  @Field(() => ID, { description: 'Pass it in InviteUserInput.roleIds.' }) id!: string;
  @Field(() => String, { description: 'Unique in the tenant regardless of case; InviteUserInput.role matches it case-insensitively.' }) name!: string;
}

@ObjectType('Group', { description: 'A group people of the tenant can be added to (InviteUserInput.groups).' })
export class GroupType {
  @Field(() => ID, { description: 'Pass it as GroupAssignmentInput.groupId.' }) id!: string;
  @Field(() => String, { description: 'Unique in the tenant regardless of case.' }) name!: string;
}

@ObjectType('Position', { description: 'A position (job title) people of the tenant can hold (InviteUserInput.positionIds).' })
export class PositionType {
  @Field(() => ID, { description: 'Pass it in InviteUserInput.positionIds.' }) id!: string;
  @Field(() => String, { description: 'Unique in the tenant regardless of case.' }) title!: string;
}

@InputType({ description: 'A new tenant.' })
export class CreateTenantInput {
  @Field(() => String, { description: 'The name shown to invitees; 1 to 100 printable characters.' }) name!: string;
}

@InputType({ description: "A role's name, for createRole and updateRole." })
export class CreateRoleInput {
  @Field(() => String, { description: '1 to 100 printable characters, unique in the tenant regardless of case.' }) name!: string;
}

@InputType({ description: "A group's name, for createGroup and updateGroup." })
export class CreateGroupInput {
  @Field(() => String, { description: '1 to 100 printable characters, unique in the tenant regardless of case.' }) name!: string;
}

@InputType({ description: "A position's title, for createPosition and updatePosition." })
export class CreatePositionInput {
  @Field(() => String, { description: '1 to 100 printable characters, unique in the tenant regardless of case.' }) title!: string;
}
