import { Field, ID, InputType, ObjectType } from 'type-graphql';

@ObjectType('Tenant')
export class TenantType {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
}

@ObjectType('Role')
export class RoleType {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
}

@ObjectType('Group')
export class GroupType {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
}

@ObjectType('Position')
export class PositionType {
  @Field(() => ID) id!: string;
  @Field(() => String) title!: string;
}

@InputType()
export class CreateTenantInput {
  @Field(() => String) name!: string;
}

@InputType()
export class CreateRoleInput {
  @Field(() => String) name!: string;
}

@InputType()
export class CreateGroupInput {
  @Field(() => String) name!: string;
}

@InputType()
export class CreatePositionInput {
  @Field(() => String) title!: string;
}
