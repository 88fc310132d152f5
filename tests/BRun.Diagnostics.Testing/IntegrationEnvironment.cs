using BRun.Diagnostics.Infrastructure.Database.Migrations;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace BRun.Diagnostics.Testing;

/// <summary>
/// One Postgres cluster and one Azurite per test assembly, with the migrations applied once to a template database.
/// Each test takes an isolated copy: <c>await using var db = await env.CreateDatabaseAsync();</c>.
/// Use it as an xunit collection fixture; each test assembly declares
/// <c>[CollectionDefinition(IntegrationEnvironment.Collection)] public sealed class IntegrationCollection : ICollectionFixture&lt;IntegrationEnvironment&gt;;</c>.
/// </summary>
public sealed class IntegrationEnvironment : IAsyncLifetime
{
    public const string Collection = "integration";
    public const string TemplateDatabase = "brun_template";

    private PostgresServer? _postgres;
    private AzuriteServer? _azurite;

    public PostgresServer Postgres => _postgres ?? throw new InvalidOperationException("The environment is not started.");

    public AzuriteServer Azurite => _azurite ?? throw new InvalidOperationException("The environment is not started.");

    public async Task InitializeAsync()
    {
        var postgres = PostgresServer.StartNewAsync();
        var azurite = AzuriteServer.StartNewAsync();
        try
        {
            _postgres = await postgres;
        }
        finally
        {
            // Keep hold of Azurite even when Postgres failed, so DisposeAsync stops it.
            _azurite = await azurite;
        }

        await ExecuteAsync($"CREATE DATABASE {TemplateDatabase}");
        // Pooling off: CREATE DATABASE ... TEMPLATE fails while any connection to the template stays open.
        await using var dataSource = NpgsqlDataSource.Create(Postgres.ConnectionString(TemplateDatabase, pooling: false));
        await new DatabaseMigrator(dataSource, NullLogger<DatabaseMigrator>.Instance).MigrateAsync(CancellationToken.None);
    }

    /// <summary>A fresh, migrated database of its own and a unique blob container name.</summary>
    public async Task<TestDatabase> CreateDatabaseAsync(bool migrated = true)
    {
        var name = "t_" + Guid.NewGuid().ToString("N");
        await ExecuteAsync(migrated ? $"CREATE DATABASE {name} TEMPLATE {TemplateDatabase}" : $"CREATE DATABASE {name}");
        return new TestDatabase(this, name);
    }

    /// <summary>Runs SQL on the maintenance database as the superuser.</summary>
    public async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Postgres.ConnectionString(pooling: false));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public async Task DisposeAsync()
    {
        try
        {
            if (_azurite is not null)
            {
                await _azurite.DisposeAsync();
            }
        }
        finally
        {
            if (_postgres is not null)
            {
                await _postgres.DisposeAsync();
            }
        }
    }
}
