using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Batches;
using BRun.Diagnostics.Infrastructure.Claude;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Simulator;
using BRun.Diagnostics.Testing;
using Dapper;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Infrastructure.Tests.Pipeline;

/// <summary>
/// A test database, the real Claude client pointed at a real simulator server, and the pipeline on the real clock
/// (workers poll and renew leases in real time, so they cannot run on a fake clock).
/// </summary>
internal sealed class PipelineHarness : IAsyncDisposable
{
    private readonly List<BatchGenerationWorker> _workers = [];
    private IServiceProvider? _default;

    private PipelineHarness(TestDatabase database, ClaudeSimulatorServer simulator, SimulatorOptions simulatorOptions, AppUser owner)
    {
        Database = database;
        Simulator = simulator;
        SimulatorOptions = simulatorOptions;
        Owner = owner;
    }

    public TestDatabase Database { get; }
    public ClaudeSimulatorServer Simulator { get; }
    public SimulatorOptions SimulatorOptions { get; }
    public AppUser Owner { get; }

    /// <summary>Where the client sends calls; the simulator unless a test points it at a scripted server.</summary>
    public Uri? ClaudeBaseUrl { get; set; }

    /// <summary>The pipeline with default settings (and <see cref="DefaultSettings"/>), for arranging and reading runs.</summary>
    public IServiceProvider Default => _default ??= Services(DefaultSettings);

    /// <summary>Settings applied to <see cref="Default"/>; set before first use.</summary>
    public Action<Dictionary<string, string?>>? DefaultSettings { get; set; }

    /// <summary>A task handler with changed settings.</summary>
    public IGenerationTaskHandler Handler(Action<Dictionary<string, string?>> settings) =>
        Services(settings).GetRequiredService<IGenerationTaskHandler>();

    public static async Task<PipelineHarness> StartAsync(IntegrationEnvironment environment, Action<SimulatorOptions>? simulator = null)
    {
        var database = await environment.CreateDatabaseAsync();
        var options = new SimulatorOptions { MinLatency = TimeSpan.Zero, MaxLatency = TimeSpan.Zero, RetryAfterSeconds = 0 };
        simulator?.Invoke(options);
        var server = await ClaudeSimulatorServer.StartAsync(options);
        var owner = await database.CreateUserAsync();
        return new PipelineHarness(database, server, options, owner);
    }

    /// <summary>A provider with the client, the pipeline and the given worker settings (worker not started).</summary>
    public IServiceProvider Services(Action<Dictionary<string, string?>>? settings = null)
    {
        var all = Database.Settings();
        all["Worker:MaxInFlight"] = "8";
        all["Worker:PollInterval"] = "00:00:00.200";
        all["Worker:LeaseDuration"] = "00:00:10";
        all["Worker:HeartbeatInterval"] = "00:00:02";
        all["Worker:ShutdownDeadline"] = "00:00:05";
        all["ApiRetry:BaseDelay"] = "00:00:00.020";
        all["ApiRetry:MaxDelay"] = "00:00:00.100";
        settings?.Invoke(all);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(all).Build();
        return Database.BuildServices(
            s =>
            {
                foreach (var (key, value) in all)
                {
                    s[key] = value;
                }
            },
            services =>
            {
                services.AddSingleton(TimeProvider.System);
                services.AddClaudeMessagesClient(o =>
                {
                    o.BaseUrl = (ClaudeBaseUrl ?? Simulator.BaseUrl).ToString();
                    o.BaseDelay = TimeSpan.FromMilliseconds(5);
                    o.MaxDelay = TimeSpan.FromMilliseconds(20);
                    o.Timeout = TimeSpan.FromSeconds(30);
                });
                services.AddGenerationPipeline(configuration);
                services.AddBatchMode(configuration);
            });
    }

    public async Task<BatchGenerationWorker> StartWorkerAsync(Action<Dictionary<string, string?>>? settings = null)
    {
        var worker = Services(s =>
        {
            DefaultSettings?.Invoke(s);
            settings?.Invoke(s);
        }).GetRequiredService<BatchGenerationWorker>();
        await worker.StartAsync(CancellationToken.None);
        _workers.Add(worker);
        return worker;
    }

    public Task<Guid> CreateRunAsync(int count, string template = "default", int maxTokens = 4096, string mode = RunMode.Online) =>
        Default.GetRequiredService<RunStore>().CreateAsync(Owner.Id, new CreateRunRequest(count, template, "claude-sonnet-4-5", maxTokens, 0.7m, mode), CancellationToken.None);

    /// <summary>Adds a template whose every prompt carries a simulator marker, so a run's outcome is known in advance.</summary>
    public async Task<string> AddTemplateAsync(SimulatorScenario scenario)
    {
        var name = "forced-" + scenario.ToName();
        await using var connection = await Database.DataSource.OpenConnectionAsync();
        await connection.ExecuteAsync(
            "INSERT INTO prompt_templates (name, body) VALUES (@name, @body)",
            new { name, body = $"Persona: {{{{persona}}}}\nVariation: {{{{variation}}}}\n{scenario.Marker()}" });
        return name;
    }

    /// <summary>Adds a template whose every prompt ends in <paramref name="marker"/> (batch-only markers included).</summary>
    public async Task<string> AddMarkerTemplateAsync(string marker)
    {
        var name = "marker-" + Guid.NewGuid().ToString("N")[..8];
        await using var connection = await Database.DataSource.OpenConnectionAsync();
        await connection.ExecuteAsync(
            "INSERT INTO prompt_templates (name, body) VALUES (@name, @body)",
            new { name, body = $"Persona: {{{{persona}}}}\nVariation: {{{{variation}}}}\n{marker}" });
        return name;
    }

    public async Task<RunSnapshot> WaitForRunAsync(Guid runId, TimeSpan? timeout = null)
    {
        var runs = Default.GetRequiredService<RunStore>();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(90));
        while (true)
        {
            var run = await runs.GetAsync(Infrastructure.Database.DbIdentity.System, runId, cts.Token) ?? throw new InvalidOperationException("run vanished");
            if (run.FinishedAt is not null)
            {
                return run;
            }

            await Task.Delay(50, cts.Token);
        }
    }

    /// <summary>Every insert into failed_generations fails from now on, as during a storage outage.</summary>
    public Task StartFailureStoreOutageAsync() =>
        ExecuteAsync("ALTER TABLE failed_generations ADD CONSTRAINT outage CHECK (false) NOT VALID");

    /// <summary>Polls until the condition holds (a deadline of 60 s, not a timed assertion).</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!await condition())
        {
            await Task.Delay(25, cts.Token);
        }
    }

    /// <summary>Runs a statement as the superuser (arranging faults, moving the database's clock for one row).</summary>
    public async Task ExecuteAsync(string sql, object? parameters = null)
    {
        await using var connection = await Database.DataSource.OpenConnectionAsync();
        await connection.ExecuteAsync(sql, parameters);
    }

    public async Task<T> ScalarAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await Database.DataSource.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<T>(sql, parameters) ?? throw new InvalidOperationException("null scalar");
    }

    public async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await Database.DataSource.OpenConnectionAsync();
        return (await connection.QueryAsync<T>(sql, parameters)).AsList();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var worker in _workers)
        {
            await worker.StopAsync(CancellationToken.None);
            worker.Dispose();
        }

        await Simulator.DisposeAsync();
        await Database.DisposeAsync();
    }
}
