import { Field, ID, InputType, ObjectType } from 'type-graphql';

@ObjectType()
export class Tenant {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
}

@ObjectType()
export class Role {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
}

@ObjectType()
export class Group {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
}

@ObjectType()
export class Position {
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
