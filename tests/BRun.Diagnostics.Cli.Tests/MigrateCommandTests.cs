using BRun.Diagnostics.Infrastructure.Database.Migrations;
using BRun.Diagnostics.Testing;
using Dapper;

namespace BRun.Diagnostics.Cli.Tests;

[Collection(IntegrationEnvironment.Collection)]
public sealed class MigrateCommandTests(IntegrationEnvironment env)
{
    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await BrunCommandLine.InvokeAsync(args, output, error);
        return (exitCode, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Migrate_applies_every_migration_and_prints_each_one()
    {
        await using var db = await env.CreateDatabaseAsync(migrated: false);

        var (exitCode, output, _) = await RunAsync("migrate", "--connection", db.ConnectionString);

        Assert.Equal(0, exitCode);
        foreach (var script in EmbeddedMigrations.Load())
        {
            Assert.Contains($"applied {script}", output, StringComparison.Ordinal);
        }

        await using var connection = await db.DataSource.OpenConnectionAsync();
        Assert.NotNull(await connection.ExecuteScalarAsync<string?>("SELECT to_regclass('failed_generations')::text"));
    }

    [Fact]
    public async Task Migrate_a_second_time_applies_nothing_and_says_up_to_date()
    {
        await using var db = await env.CreateDatabaseAsync(migrated: false);
        await RunAsync("migrate", "--connection", db.ConnectionString);

        var (exitCode, output, _) = await RunAsync("migrate", "--connection", db.ConnectionString);

        Assert.Equal(0, exitCode);
        Assert.DoesNotContain("applied 0", output, StringComparison.Ordinal);
        Assert.Contains("up to date", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_reads_the_connection_from_ConnectionStrings__Postgres()
    {
        await using var db = await env.CreateDatabaseAsync(migrated: false);
        var previous = Environment.GetEnvironmentVariable("ConnectionStrings__Postgres");
        Environment.SetEnvironmentVariable("ConnectionStrings__Postgres", db.ConnectionString);
        try
        {
            var (exitCode, output, _) = await RunAsync("migrate");

            Assert.Equal((0, true), (exitCode, output.Contains("applied 0001", StringComparison.Ordinal)));
        }
        finally
        {
            Environment.SetEnvironmentVariable("ConnectionStrings__Postgres", previous);
        }
    }

    [Fact]
    public async Task Migrate_refuses_an_edited_migration_with_exit_code_1()
    {
        await using var db = await env.CreateDatabaseAsync();
        await using (var connection = await db.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE schema_history SET checksum = 'edited' WHERE version = 1");
        }

        var (exitCode, _, error) = await RunAsync("migrate", "--connection", db.ConnectionString);

        Assert.Equal(1, exitCode);
        Assert.Contains("was changed after it was applied", error, StringComparison.Ordinal);
    }
}
