using BRun.Diagnostics.Infrastructure.Database.Migrations;
using BRun.Diagnostics.Testing;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Tests.Database;

[Collection(IntegrationEnvironment.Collection)]
public sealed class MigratorTests(IntegrationEnvironment env)
{
    private static DatabaseMigrator Migrator(NpgsqlDataSource dataSource, IEnumerable<MigrationScript>? scripts = null) =>
        new(dataSource, scripts ?? EmbeddedMigrations.Load(), NullLogger<DatabaseMigrator>.Instance);

    [Fact]
    public void Embedded_migrations_start_at_0001_and_are_loaded_in_strictly_increasing_order()
    {
        // Feature areas take blocks of numbers (0001 foundation, 0010 pipeline, 0020 accounts, 0030 dashboard),
        // so gaps are expected; order and uniqueness are what the migrator relies on.
        var versions = EmbeddedMigrations.Load().Select(s => s.Version).ToList();

        Assert.Equal(1, versions[0]);
        Assert.All(versions.Zip(versions.Skip(1)), pair => Assert.True(pair.First < pair.Second, $"{pair.First} before {pair.Second}"));
    }

    [Fact]
    public async Task Migrate_applies_every_script_on_an_empty_database()
    {
        await using var db = await env.CreateDatabaseAsync(migrated: false);

        var result = await Migrator(db.DataSource).MigrateAsync(CancellationToken.None);

        Assert.Equal(EmbeddedMigrations.Load().Select(s => s.Version), result.Applied.Select(s => s.Version));
    }

    [Fact]
    public async Task Migrate_run_twice_applies_nothing_the_second_time()
    {
        await using var db = await env.CreateDatabaseAsync(migrated: false);
        await Migrator(db.DataSource).MigrateAsync(CancellationToken.None);

        var second = await Migrator(db.DataSource).MigrateAsync(CancellationToken.None);

        Assert.Empty(second.Applied);
        Assert.Equal(EmbeddedMigrations.Load().Count, second.PreviouslyApplied);
    }

    [Fact]
    public async Task Migrate_records_version_name_and_checksum_in_schema_history()
    {
        await using var db = await env.CreateDatabaseAsync(migrated: false);
        await Migrator(db.DataSource).MigrateAsync(CancellationToken.None);

        await using var connection = await db.DataSource.OpenConnectionAsync();
        var rows = (await connection.QueryAsync<(int Version, string Name, string Checksum)>(
            "SELECT version, name, checksum FROM schema_history ORDER BY version")).ToList();

        Assert.Equal(EmbeddedMigrations.Load().Select(s => (s.Version, s.Name, s.Checksum)), rows);
    }

    [Fact]
    public async Task Migrate_refuses_to_run_when_an_applied_script_changed()
    {
        await using var db = await env.CreateDatabaseAsync(migrated: false);
        await Migrator(db.DataSource).MigrateAsync(CancellationToken.None);
        var edited = EmbeddedMigrations.Load()
            .Select(s => s.Version == 1 ? s with { Sql = s.Sql + "\n-- edited after release\n" } : s)
            .Append(new MigrationScript(99, "new_table", "CREATE TABLE must_not_exist (id int);"))
            .ToList();

        var error = await Assert.ThrowsAsync<MigrationChecksumMismatchException>(
            () => Migrator(db.DataSource, edited).MigrateAsync(CancellationToken.None));

        Assert.Equal(1, error.Script.Version);
        await using var connection = await db.DataSource.OpenConnectionAsync();
        Assert.Null(await connection.ExecuteScalarAsync<string?>("SELECT to_regclass('must_not_exist')::text"));
    }

    [Fact]
    public void Checksum_ignores_line_ending_differences()
    {
        var lf = new MigrationScript(1, "x", "SELECT 1;\nSELECT 2;\n");
        var crlf = new MigrationScript(1, "x", "SELECT 1;\r\nSELECT 2;\r\n");

        Assert.Equal(lf.Checksum, crlf.Checksum);
    }

    [Fact]
    public async Task Two_migrators_starting_together_apply_each_script_once()
    {
        await using var db = await env.CreateDatabaseAsync(migrated: false);
        await using var other = NpgsqlDataSource.Create(db.ConnectionString);

        var results = await Task.WhenAll(
            Migrator(db.DataSource).MigrateAsync(CancellationToken.None),
            Migrator(other).MigrateAsync(CancellationToken.None));

        Assert.Equal(EmbeddedMigrations.Load().Count, results.Sum(r => r.Applied.Count));
    }

    [Fact]
    public async Task A_failing_script_is_rolled_back_and_not_recorded()
    {
        await using var db = await env.CreateDatabaseAsync(migrated: false);
        var scripts = new[]
        {
            new MigrationScript(1, "ok", "CREATE TABLE first_table (id int);"),
            new MigrationScript(2, "broken", "CREATE TABLE second_table (id int); SELECT no_such_function();"),
        };

        await Assert.ThrowsAsync<PostgresException>(() => Migrator(db.DataSource, scripts).MigrateAsync(CancellationToken.None));

        await using var connection = await db.DataSource.OpenConnectionAsync();
        Assert.Null(await connection.ExecuteScalarAsync<string?>("SELECT to_regclass('second_table')::text"));
        Assert.Equal([1], (await connection.QueryAsync<int>("SELECT version FROM schema_history")).ToList());
    }
}
