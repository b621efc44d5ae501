import { DateTimeResolver } from 'graphql-scalars';
import { Arg, Ctx, Field, Float, ID, Int, Mutation, ObjectType, Query, Resolver, registerEnumType } from 'type-graphql';
import type { RequestContext } from '../context';
import { InviteImportStatus } from '../entities';
import type { InviteImportService } from '../services/imports/invite-import.service';
import { PageInfo } from './invitation.types';

registerEnumType(InviteImportStatus, {
  name: 'InviteImportStatus',
  description: 'Where an import stands.',
  valuesConfig: {
    QUEUED: { description: 'Uploaded and stored; waiting for its turn (at most IMPORT_CONCURRENCY imports of a tenant run at once).' },
    RUNNING: { description: 'Rows are being processed, chunk by chunk.' },
    COMPLETED: { description: 'Every row has its outcome (invited or failed).' },
    FAILED: { description: 'Processing stopped on an error (see `error`); the rows processed before keep their outcomes.' },
    CANCELLED: { description: 'Stopped by cancelInviteImport after the chunk in flight; the rows processed before keep their outcomes.' },
  },
});

@ObjectType('InviteImport', { description: 'An uploaded file of people (POST /imports) and how far its processing is.' })
export class InviteImportType {
  @Field(() => ID, { description: 'The import id, as in `Location: /imports/<id>`.' }) id!: string;
  @Field(() => InviteImportStatus, { description: 'Where the import stands.' }) status!: InviteImportStatus;
  @Field(() => String, { description: '`csv` or `ndjson`.' }) format!: string;
  @Field(() => Int, { nullable: true, description: 'Data rows in the file.' }) totalRows!: number | null;
  @Field(() => Int, { description: 'Rows that have their outcome; updated at least once per chunk.' }) processedRows!: number;
  @Field(() => Int, { description: 'Processed rows that were invited.' }) successful!: number;
  @Field(() => Int, { description: 'Processed rows that failed (their code and message are in the results).' }) failed!: number;
  @Field(() => Float, { description: 'processedRows of totalRows, from 0 to 100.' }) percent!: number;
  @Field(() => DateTimeResolver, { description: 'When the upload was stored.' }) createdAt!: string;
  @Field(() => DateTimeResolver, { nullable: true, description: 'When processing started.' }) startedAt!: string | null;
  @Field(() => DateTimeResolver, { nullable: true, description: 'When the import completed, failed or was cancelled.' }) finishedAt!: string | null;
  @Field(() => String, { nullable: true, description: 'Why the import FAILED.' }) error!: string | null;
  @Field(() => String, { nullable: true, description: 'Path of the row results (CSV, or JSON Lines with `Accept: application/x-ndjson`).' }) resultsUrl!: string | null;
}

@ObjectType({ description: 'One page of imports, newest first.' })
export class InviteImportConnection {
  @Field(() => [InviteImportType], { description: 'The imports of this page.' }) nodes!: InviteImportType[];
  @Field(() => PageInfo, { description: 'How to get the next page.' }) pageInfo!: PageInfo;
}

@Resolver()
export class InviteImportResolver {
  constructor(private readonly imports: InviteImportService) {}

  @Query(() => InviteImportType, { nullable: true, description: "Requires users:read (or users:invite). Null for an unknown id or another tenant's import." })
  inviteImport(@Ctx() ctx: RequestContext, @Arg('id', () => ID, { description: 'The import id.' }) id: string) {
    return this.imports.getImport(ctx, id);
  }

  @Query(() => InviteImportConnection, { description: "Requires users:read (or users:invite). The token's tenant's imports, newest first." })
  async inviteImports(
    @Ctx() ctx: RequestContext,
    @Arg('first', () => Int, { defaultValue: 20, description: 'Page size, at most 100.' }) first: number,
    @Arg('after', () => String, { nullable: true, description: '`pageInfo.endCursor` of the previous page.' }) after?: string | null,
  ) {
    const page = await this.imports.listImports(ctx, first, after);
    return { nodes: page.nodes, pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor } };
  }

  @Mutation(() => InviteImportType, {
    description: 'Requires users:invite. Stops the import after the chunk in flight (a queued one at once); processed rows keep their outcomes.',
  })
  cancelInviteImport(@Ctx() ctx: RequestContext, @Arg('id', () => ID, { description: 'The import id.' }) id: string) {
    return this.imports.cancelImport(ctx, id);
  }
}
