using Npgsql;

namespace BRun.Diagnostics.Testing;

/// <summary>
/// A throwaway Postgres cluster in a temp directory on a free loopback port, tuned for tests (no fsync).
/// Binaries come from BRUN_PG_BIN, else the newest /usr/lib/postgresql/*/bin. Can be stopped and started again
/// on the same port for fault tests.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _root;
    private readonly string _data;
    private bool _running;

    private PostgresServer(string bin, string root, int port)
    {
        _bin = bin;
        _root = root;
        _data = Path.Combine(root, "data");
        Port = port;
    }

    public int Port { get; }

    public static async Task<PostgresServer> StartNewAsync(CancellationToken cancellationToken = default)
    {
        var bin = FindBinaries();
        var root = Directory.CreateTempSubdirectory("brun-pg-").FullName;
        var server = new PostgresServer(bin, root, ProcessRunner.FreePort());
        try
        {
            if (ProcessRunner.IsRoot)
            {
                // initdb refuses root; the cluster belongs to the postgres OS user.
                await ProcessRunner.RunAsync("chown", ["postgres:postgres", root], asPostgresUser: false, cancellationToken);
            }

            await ProcessRunner.RunAsync(Path.Combine(bin, "initdb"),
                ["-D", server._data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"],
                asPostgresUser: true, cancellationToken);
            await server.StartAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>A connection string for <paramref name="database"/> as the superuser <c>postgres</c>.</summary>
    public string ConnectionString(string database = "postgres", bool pooling = true) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = "postgres",
        Database = database,
        Pooling = pooling,
    }.ConnectionString;

    // No fsync, but commits are synchronous: StopAsync is a crash (immediate mode), and with synchronous_commit off a
    // commit acknowledged in the last ~200 ms is lost in one. A fault test then sees a database that lost what a real
    // one keeps (the readiness test lost the newest migration's history row in 3 runs of 4).
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await ProcessRunner.RunAsync(Path.Combine(_bin, "pg_ctl"),
            ["-D", _data, "-l", Path.Combine(_root, "server.log"), "-w", "-o",
             $"-c listen_addresses=127.0.0.1 -p {Port} -k {_root} -c fsync=off -c full_page_writes=off -c max_connections=200",
             "start"],
            asPostgresUser: true, cancellationToken);
        _running = true;
    }

    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (!_running)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        await ProcessRunner.RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", _data, "-m", "immediate", "-w", "stop"],
            asPostgresUser: true, cancellationToken);
        _running = false;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private static string FindBinaries()
    {
        var configured = Environment.GetEnvironmentVariable("BRUN_PG_BIN");
        var candidates = !string.IsNullOrEmpty(configured)
            ? [configured]
            : Directory.Exists("/usr/lib/postgresql")
                ? Directory.GetDirectories("/usr/lib/postgresql")
                    .Select(d => (Dir: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
                    .OrderByDescending(c => c.Version)
                    .Select(c => c.Dir)
                    .ToArray()
                : [];
        return candidates.FirstOrDefault(dir => File.Exists(Path.Combine(dir, "initdb")))
            ?? throw new InvalidOperationException(
                "PostgreSQL binaries (initdb, pg_ctl) were not found in BRUN_PG_BIN or /usr/lib/postgresql/*/bin. "
                + "Run the tests with `./brun.sh test`, which installs them.");
    }
}
