using BRun.Diagnostics.Infrastructure.Database.Migrations;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace BRun.Diagnostics.Testing;

/// <summary>
/// One Postgres cluster and one Azurite per test process, with the migrations applied once to a template database.
/// Each test takes an isolated copy: <c>await using var db = await env.CreateDatabaseAsync();</c>.
/// Use it as an xunit collection fixture; each test assembly declares
/// <c>[CollectionDefinition(IntegrationEnvironment.Collection)] public sealed class IntegrationCollection : ICollectionFixture&lt;IntegrationEnvironment&gt;;</c>.
/// An assembly may also declare <see cref="ParallelCollection"/> the same way: xunit runs the two collections side by
/// side, and both fixtures hold the same servers (the last to let go stops them). Tests that stop or restart a server
/// would pull it from under the other collection's tests: they take a <see cref="PrivateIntegrationEnvironment"/>.
/// </summary>
public class IntegrationEnvironment : IAsyncLifetime
{
    public const string Collection = "integration";
    public const string ParallelCollection = "integration-parallel";
    public const string TemplateDatabase = "brun_template";

    private static readonly SemaphoreSlim SharedGate = new(1, 1);
    private static Servers? _sharedServers;
    private static int _holders;

    private readonly bool _shared;
    private Servers? _servers;

    public IntegrationEnvironment()
        : this(shared: true)
    {
    }

    private protected IntegrationEnvironment(bool shared) => _shared = shared;

    public PostgresServer Postgres => Started().Postgres;

    public AzuriteServer Azurite => Started().Azurite;

    public async Task InitializeAsync()
    {
        if (!_shared)
        {
            _servers = await Servers.StartAsync();
            return;
        }

        await SharedGate.WaitAsync();
        try
        {
            _sharedServers ??= await Servers.StartAsync();
            _holders++;
            _servers = _sharedServers;
        }
        finally
        {
            SharedGate.Release();
        }
    }

    /// <summary>A fresh, migrated database of its own and a unique blob container name.</summary>
    public async Task<TestDatabase> CreateDatabaseAsync(bool migrated = true)
    {
        var name = "t_" + Guid.NewGuid().ToString("N");
        // FILE_COPY copies the template's files (60 ms less per database than the default WAL_LOG here: no fsync, a
        // small template); the checkpoint it needs is cheap without fsync.
        var strategy = Started().CanChooseStrategy ? " STRATEGY FILE_COPY" : string.Empty;
        await ExecuteAsync(migrated ? $"CREATE DATABASE {name} TEMPLATE {TemplateDatabase}{strategy}" : $"CREATE DATABASE {name}");
        return new TestDatabase(this, name);
    }

    /// <summary>Runs SQL on the maintenance database as the superuser.</summary>
    public Task ExecuteAsync(string sql) => Servers.ExecuteAsync(Postgres, sql);

    /// <summary>
    /// Drops a test's database. On the shared servers the drop runs while the next test does, and its outcome is
    /// awaited (any failure thrown) when they stop; on private ones it is awaited here, since their tests stop the
    /// server and a drop still in flight would fail.
    /// </summary>
    internal Task DropAsync(string database)
    {
        var drop = ExecuteAsync($"DROP DATABASE IF EXISTS {database} WITH (FORCE)");
        if (!_shared)
        {
            return drop;
        }

        Started().AddDrop(drop);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_servers is null)
        {
            return;
        }

        if (!_shared)
        {
            var own = _servers;
            _servers = null;
            await own.DisposeAsync();
            return;
        }

        await SharedGate.WaitAsync();
        try
        {
            _servers = null;
            if (--_holders == 0 && _sharedServers is { } last)
            {
                _sharedServers = null;
                await last.DisposeAsync();
            }
        }
        finally
        {
            SharedGate.Release();
        }
    }

    private Servers Started() => _servers ?? throw new InvalidOperationException("The environment is not started.");

    private sealed class Servers : IAsyncDisposable
    {
        private readonly List<Task> _drops = [];

        private Servers(PostgresServer postgres, AzuriteServer azurite)
        {
            Postgres = postgres;
            Azurite = azurite;
        }

        public PostgresServer Postgres { get; }

        public AzuriteServer Azurite { get; }

        /// <summary>CREATE DATABASE ... STRATEGY exists from PostgreSQL 15.</summary>
        public bool CanChooseStrategy { get; private set; }

        public static async Task<Servers> StartAsync()
        {
            var postgres = PostgresServer.StartNewAsync();
            var azurite = AzuriteServer.StartNewAsync();
            PostgresServer startedPostgres;
            try
            {
                startedPostgres = await postgres;
            }
            catch (Exception postgresError)
            {
                // Stop Azurite too when Postgres failed; should Azurite have failed as well, both errors are told.
                try
                {
                    await (await azurite).DisposeAsync();
                }
                catch (Exception azuriteError)
                {
                    throw new AggregateException(postgresError, azuriteError);
                }

                throw;
            }

            AzuriteServer startedAzurite;
            try
            {
                startedAzurite = await azurite;
            }
            catch
            {
                await startedPostgres.DisposeAsync();
                throw;
            }

            var servers = new Servers(startedPostgres, startedAzurite);
            try
            {
                await ExecuteAsync(startedPostgres, $"CREATE DATABASE {TemplateDatabase}");
                // Pooling off: CREATE DATABASE ... TEMPLATE fails while any connection to the template stays open.
                await using var dataSource = NpgsqlDataSource.Create(startedPostgres.ConnectionString(TemplateDatabase, pooling: false));
                await new DatabaseMigrator(dataSource, NullLogger<DatabaseMigrator>.Instance).MigrateAsync(CancellationToken.None);
                await using var connection = await dataSource.OpenConnectionAsync();
                servers.CanChooseStrategy = connection.PostgreSqlVersion.Major >= 15;
                return servers;
            }
            catch
            {
                await servers.DisposeAsync();
                throw;
            }
        }

        public static async Task ExecuteAsync(PostgresServer postgres, string sql)
        {
            await using var connection = new NpgsqlConnection(postgres.ConnectionString(pooling: false));
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync();
        }

        public void AddDrop(Task drop)
        {
            lock (_drops)
            {
                _drops.RemoveAll(d => d.IsCompletedSuccessfully);
                _drops.Add(drop);
            }
        }

        public async ValueTask DisposeAsync()
        {
            Task[] drops;
            lock (_drops)
            {
                drops = [.. _drops];
            }

            try
            {
                await Task.WhenAll(drops);
            }
            finally
            {
                try
                {
                    await Azurite.DisposeAsync();
                }
                finally
                {
                    await Postgres.DisposeAsync();
                }
            }
        }
    }
}

/// <summary>
/// Servers of its own (a cluster and an Azurite started for it alone), for a test class that stops or restarts them.
/// As a class fixture outside the shared collections, that class runs beside them without disturbing their tests.
/// </summary>
public sealed class PrivateIntegrationEnvironment : IntegrationEnvironment
{
    public PrivateIntegrationEnvironment()
        : base(shared: false)
    {
    }
}
