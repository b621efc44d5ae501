import { type EntityMetadata, type EntityProperty, type MikroORM, ReferenceKind } from '@mikro-orm/core';
import { type DatabaseSchema, type EntityManager, PostgreSqlPlatform, SqlSchemaGenerator } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { isTenantOwned } from '../entities/tenant-scoped';

/**
 * Tenancy enforced by PostgreSQL, not only by the `tenant` filter: a relation from a tenant-owned entity to another
 * tenant-owned entity (membership → role, invitation → membership, membership → manager, …) gets the composite
 * foreign key `(tenant_id, role_id) → role (tenant_id, id)` in place of MikroORM's `(role_id) → role (id)`, so
 * a row can only point at a row of its own tenant. The referenced entity declares `@Unique` on `(tenant, id)`.
 *
 * MikroORM can only map a composite foreign key onto a composite primary key, and these entities keep their
 * single `id`, so the keys are derived here from the metadata and added to the schema MikroORM generates from
 * the entities: the migrator writes them into migrations, and the schema diff compares them like any other key.
 */
export function bindRelationsToTenant(schema: DatabaseSchema, metadata: EntityMetadata[]): void {
  for (const meta of metadata) {
    if (!isTenantOwned(meta)) continue;
    const table = schema.getTable(meta.tableName);
    if (!table) continue;
    const tenantColumn = meta.properties['tenant' as keyof typeof meta.properties].fieldNames[0];
    const foreignKeys = table.getForeignKeys();
    for (const prop of meta.relations as EntityProperty[]) {
      if (prop.name === 'tenant' || !isTenantBound(prop)) continue;
      const target = prop.targetMeta!;
      const column = prop.fieldNames[0];
      const single = Object.values(foreignKeys).find((fk) => fk.columnNames.length === 1 && fk.columnNames[0] === column);
      if (!single) continue;
      const referencedTable = schema.getTable(target.tableName)!;
      const targetTenantColumn = target.properties['tenant' as keyof typeof target.properties].fieldNames[0];
      const referencedColumns = [targetTenantColumn, ...prop.referencedColumnNames];
      const unique = referencedTable
        .getIndexes()
        .some((index) => (index.unique || index.primary) && sameColumns(index.columnNames, referencedColumns));
      if (!unique) {
        throw new Error(`${target.className} needs @Unique on (tenant, id): ${meta.className}.${prop.name} references it`);
      }
      delete foreignKeys[single.constraintName];
      const constraintName = `${meta.tableName}_${column}_tenant_foreign`;
      foreignKeys[constraintName] = {
        ...single,
        constraintName,
        columnNames: [tenantColumn, column],
        referencedColumnNames: referencedColumns,
        // Plain SET NULL would null tenant_id too, which is NOT NULL: only the reference is cleared.
        deleteRule: single.deleteRule?.toLowerCase() === 'set null' ? `set null (${column})` : single.deleteRule,
      };
    }
  }
}

function isTenantBound(prop: EntityProperty): boolean {
  const toOne = prop.kind === ReferenceKind.MANY_TO_ONE || (prop.kind === ReferenceKind.ONE_TO_ONE && prop.owner);
  return !!toOne && prop.fieldNames.length === 1 && !!prop.targetMeta && isTenantOwned(prop.targetMeta);
}

function sameColumns(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((column, i) => column === b[i]);
}

/**
 * MikroORM's schema generator with the tenant-bound foreign keys (`orm.schema`, the schema diff). Registered by
 * the platform (TenantPostgreSqlPlatform): `extensions` are registered only after `connect()`, whose
 * `ensureDatabase` has by then created and cached the plain generator.
 */
export class TenantSchemaGenerator extends SqlSchemaGenerator {
  static override register(orm: MikroORM): void {
    orm.config.registerExtension('@mikro-orm/schema-generator', () => new TenantSchemaGenerator(orm.em as EntityManager));
  }

  override getTargetSchema(schema?: string): DatabaseSchema {
    const target = super.getTargetSchema(schema);
    bindRelationsToTenant(target, Object.values(this.metadata.getAll()));
    return target;
  }
}

/** MikroORM's migrator, diffing with TenantSchemaGenerator (it builds a plain SqlSchemaGenerator of its own). */
export class TenantMigrator extends Migrator {
  static override register(orm: MikroORM): void {
    orm.config.registerExtension('@mikro-orm/migrator', () => new TenantMigrator(orm.em as EntityManager));
  }

  constructor(em: EntityManager) {
    super(em);
    (this as unknown as { schemaGenerator: SqlSchemaGenerator }).schemaGenerator = new TenantSchemaGenerator(em);
  }
}

/** PostgreSQL, with TenantSchemaGenerator as the schema generator. Installed by the driver (UnnestInsertDriver). */
export class TenantPostgreSqlPlatform extends PostgreSqlPlatform {
  override lookupExtensions(orm: MikroORM): void {
    TenantSchemaGenerator.register(orm);
  }
}
