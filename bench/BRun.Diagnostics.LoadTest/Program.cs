using System.Diagnostics;
using System.Globalization;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Claude;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Simulator;
using BRun.Diagnostics.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

// Usage: dotnet run -c Release --project bench/BRun.Diagnostics.LoadTest -- [--tasks N] [--latency-ms L] [--in-flight M]
var tasks = Arg("--tasks", 2000);
var latencyMs = Arg("--latency-ms", 0);
var inFlight = Arg("--in-flight", 32);

var environment = new IntegrationEnvironment();
await environment.InitializeAsync();
try
{
    await using var db = await environment.CreateDatabaseAsync();
    var latency = TimeSpan.FromMilliseconds(latencyMs);
    await using var simulator = await ClaudeSimulatorServer.StartAsync(new SimulatorOptions { MinLatency = latency, MaxLatency = latency, RetryAfterSeconds = 0 });
    var settings = db.Settings();
    settings["Worker:MaxInFlight"] = inFlight.ToString(CultureInfo.InvariantCulture);
    settings["Worker:PollInterval"] = "00:00:00.200";
    var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
    var services = db.BuildServices(
        s =>
        {
            s["Worker:MaxInFlight"] = settings["Worker:MaxInFlight"];
            s["Worker:PollInterval"] = settings["Worker:PollInterval"];
        },
        s =>
        {
            s.AddSingleton(TimeProvider.System);
            s.AddClaudeMessagesClient(o =>
            {
                o.BaseUrl = simulator.BaseUrl.ToString();
                o.BaseDelay = TimeSpan.FromMilliseconds(5);
                o.MaxDelay = TimeSpan.FromMilliseconds(20);
            });
            s.AddGenerationPipeline(configuration);
        });

    var owner = await db.CreateUserAsync();
    var runs = services.GetRequiredService<RunStore>();
    var runId = await runs.CreateAsync(owner.Id, new CreateRunRequest(tasks, "default", "claude-sonnet-4-5", 4096, 0.7m), CancellationToken.None);
    var worker = services.GetRequiredService<BatchGenerationWorker>();

    GC.Collect();
    var process = Process.GetCurrentProcess();
    var baselineMb = process.WorkingSet64 / 1024.0 / 1024.0;
    var clock = Stopwatch.StartNew();
    await worker.StartAsync(CancellationToken.None);
    var peakInFlight = 0;
    var peakMb = baselineMb;
    RunSnapshot run;
    while (true)
    {
        await Task.Delay(100);
        peakInFlight = Math.Max(peakInFlight, worker.InFlightCount);
        process.Refresh();
        peakMb = Math.Max(peakMb, process.WorkingSet64 / 1024.0 / 1024.0);
        run = (await runs.GetAsync(DbIdentity.System, runId, CancellationToken.None))!;
        if (run.FinishedAt is not null)
        {
            break;
        }
    }

    clock.Stop();
    await worker.StopAsync(CancellationToken.None);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"tasks={tasks} latency_ms={latencyMs} max_in_flight={inFlight} elapsed_s={clock.Elapsed.TotalSeconds:F1} tasks_per_s={tasks / clock.Elapsed.TotalSeconds:F1} " +
        $"succeeded={run.Succeeded} failed={run.Failed} peak_in_flight={peakInFlight} working_set_mb_start={baselineMb:F0} working_set_mb_peak={peakMb:F0} simulator_requests={simulator.RequestCount}"));
}
finally
{
    await environment.DisposeAsync();
}

int Arg(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
}
