using BRun.Diagnostics.Infrastructure.Database.Migrations;
using BRun.Diagnostics.Infrastructure.Health;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.Tests.Pipeline;
using BRun.Diagnostics.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Tests.Health;

/// <summary>Readiness against real outages: a Postgres and an Azurite of the test's own, stopped and started again.</summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class ReadinessTests(IntegrationEnvironment environment)
{
    private static async Task<HealthReport> ReadyAsync(IServiceProvider services) =>
        await services.GetRequiredService<HealthCheckService>().CheckHealthAsync(c => c.Tags.Contains(HealthServiceCollectionExtensions.ReadyTag));

    /// <summary>Polls until the report has the wanted status (a restarted server takes a moment to accept connections).</summary>
    private static async Task<HealthReport> ReadyWhenAsync(IServiceProvider services, HealthStatus wanted)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var report = await ReadyAsync(services);
            if (report.Status == wanted || deadline.IsCancellationRequested)
            {
                return report;
            }

            await Task.Delay(100, CancellationToken.None);
        }
    }

    [Fact]
    public async Task Ready_goes_unhealthy_while_Postgres_or_Azurite_is_down_and_healthy_when_they_return()
    {
        await using var postgres = await PostgresServer.StartNewAsync();
        await using var azurite = await AzuriteServer.StartNewAsync();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = postgres.ConnectionString(),
            ["ConnectionStrings:Blobs"] = azurite.ConnectionString,
            ["ReportUpload:RetrierEnabled"] = "false",
        }).Build();
        var services = new ServiceCollection().AddLogging().AddDiagnosticsInfrastructure(configuration);
        services.AddDiagnosticsHealthChecks();
        await using var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<DatabaseMigrator>().MigrateAsync(CancellationToken.None);

        var up = await ReadyAsync(provider);
        Assert.Equal(HealthStatus.Healthy, up.Status);

        await postgres.StopAsync();
        var pgDown = await ReadyAsync(provider);
        Assert.Equal(HealthStatus.Unhealthy, pgDown.Status);
        Assert.Equal(HealthStatus.Unhealthy, pgDown.Entries["postgres"].Status);
        Assert.StartsWith("Postgres is unreachable", pgDown.Entries["postgres"].Description, StringComparison.Ordinal);
        Assert.Equal(HealthStatus.Healthy, pgDown.Entries["blob_storage"].Status);

        await postgres.StartAsync();
        Assert.Equal(HealthStatus.Healthy, (await ReadyWhenAsync(provider, HealthStatus.Healthy)).Status);

        await azurite.StopAsync();
        var blobDown = await ReadyAsync(provider);
        Assert.Equal(HealthStatus.Unhealthy, blobDown.Entries["blob_storage"].Status);
        Assert.Equal(HealthStatus.Healthy, blobDown.Entries["postgres"].Status);

        await azurite.StartAsync();
        Assert.Equal(HealthStatus.Healthy, (await ReadyWhenAsync(provider, HealthStatus.Healthy)).Status);
    }

    [Fact]
    public async Task Ready_names_the_migrations_a_database_lacks()
    {
        await using var db = await environment.CreateDatabaseAsync(migrated: false);
        var provider = db.BuildServices(configureServices: s => s.AddDiagnosticsHealthChecks());
        var migrator = provider.GetRequiredService<DatabaseMigrator>();

        var empty = await ReadyAsync(provider);
        Assert.Contains("not migrated", empty.Entries["postgres"].Description, StringComparison.Ordinal);

        // Apply all but the newest: the host is on a newer build than its schema.
        var older = new DatabaseMigrator(provider.GetRequiredService<NpgsqlDataSource>(), migrator.Scripts.SkipLast(1), Microsoft.Extensions.Logging.Abstractions.NullLogger<DatabaseMigrator>.Instance);
        await older.MigrateAsync(CancellationToken.None);
        var behind = await ReadyAsync(provider);

        Assert.Equal(HealthStatus.Unhealthy, behind.Entries["postgres"].Status);
        Assert.Contains(migrator.Scripts[^1].Name, behind.Entries["postgres"].Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ready_goes_unhealthy_while_the_worker_loop_is_stuck_on_a_hung_query()
    {
        await using var harness = await PipelineHarness.StartAsync(environment);
        var services = harness.Services(s =>
        {
            s["Worker:StuckAfter"] = "00:00:05";
            s["Worker:PollInterval"] = "00:00:00.100";
        });
        var worker = services.GetRequiredService<BatchGenerationWorker>();
        var check = ActivatorUtilities.CreateInstance<WorkerLoopHealthCheck>(services);
        var context = new HealthCheckContext();

        Assert.Contains("not started", (await check.CheckHealthAsync(context)).Description, StringComparison.Ordinal);
        await worker.StartAsync(CancellationToken.None);
        try
        {
            await ReadyUntilAsync(check, HealthStatus.Healthy);

            // The claim query waits behind an exclusive lock: the loop stops turning, as with a hung connection.
            await using var blocker = await harness.Database.DataSource.OpenConnectionAsync();
            await using var transaction = await blocker.BeginTransactionAsync();
            await using (var lockTasks = new NpgsqlCommand("LOCK TABLE generation_tasks IN ACCESS EXCLUSIVE MODE", blocker, transaction))
            {
                await lockTasks.ExecuteNonQueryAsync();
            }

            var stuck = await ReadyUntilAsync(check, HealthStatus.Unhealthy);
            Assert.Contains("has not turned for", stuck.Description, StringComparison.Ordinal);

            await transaction.RollbackAsync();
            await ReadyUntilAsync(check, HealthStatus.Healthy);
        }
        finally
        {
            await worker.StopAsync(CancellationToken.None);
        }
    }

    private static async Task<HealthCheckResult> ReadyUntilAsync(IHealthCheck check, HealthStatus wanted)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var result = await check.CheckHealthAsync(new HealthCheckContext());
            if (result.Status == wanted)
            {
                return result;
            }

            Assert.False(deadline.IsCancellationRequested, $"still {result.Status}: {result.Description}");
            await Task.Delay(100, CancellationToken.None);
        }
    }
}
