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

// Usage: dotnet run -c Release --project bench/BRun.Diagnostics.RateLimitBench -- [--workers 1|2] [--tasks N]
//   [--rpm R] [--itpm I] [--otpm O] [--window-s W] [--tokens-per-s S] [--max-tokens M] [--reservation MaxTokens|Estimate]
// Limits are per window (a minute for the real API; scaled down here so a run takes a minute or two, with the
// generation speed scaled by the same factor). The simulator's own accounting is the judge.
var workers = Arg("--workers", 1);
var tasks = Arg("--tasks", 100);
var rpm = Arg("--rpm", 50);
var itpm = Arg("--itpm", 30_000);
var otpm = Arg("--otpm", 8_000);
var windowSeconds = Arg("--window-s", 6);
var tokensPerSecond = Arg("--tokens-per-s", 600);
var maxTokens = Arg("--max-tokens", 2048);
var inFlight = Arg("--in-flight", 32);
var reservation = Text("--reservation", "MaxTokens");
var window = TimeSpan.FromSeconds(windowSeconds);

var environment = new IntegrationEnvironment();
await environment.InitializeAsync();
try
{
    await using var db = await environment.CreateDatabaseAsync();
    await using var simulator = await ClaudeSimulatorServer.StartAsync(new SimulatorOptions
    {
        CompleteRate = 1, MaxTokensRate = 0, EndTurnCutRate = 0, StreamCutRate = 0, RefusalRate = 0, RateLimitedRate = 0, OverloadedRate = 0,
        RequestsPerMinute = rpm, InputTokensPerMinute = itpm, OutputTokensPerMinute = otpm, RateLimitWindow = window,
        OutputTokensPerSecond = tokensPerSecond, MinLatency = TimeSpan.FromMilliseconds(100), MaxLatency = TimeSpan.FromMilliseconds(100),
    });

    var providers = Enumerable.Range(0, workers).Select(_ => Worker(db, simulator.BaseUrl)).ToList();
    var owner = await db.CreateUserAsync();
    var runs = providers[0].GetRequiredService<RunStore>();
    var runId = await runs.CreateAsync(owner.Id, new CreateRunRequest(tasks, "default", "claude-sonnet-4-5", maxTokens, 0.7m), CancellationToken.None);
    var started = providers.Select(p => p.GetRequiredService<BatchGenerationWorker>()).ToList();

    var clock = Stopwatch.StartNew();
    foreach (var worker in started)
    {
        await worker.StartAsync(CancellationToken.None);
    }

    RunSnapshot run;
    while (true)
    {
        await Task.Delay(200);
        run = (await runs.GetAsync(DbIdentity.System, runId, CancellationToken.None))!;
        if (run.FinishedAt is not null)
        {
            break;
        }
    }

    clock.Stop();
    foreach (var worker in started)
    {
        await worker.StopAsync(CancellationToken.None);
    }

    var stats = simulator.RateLimitStats;
    var elapsed = clock.Elapsed.TotalSeconds;
    var output = stats.Calls.Sum(c => (double)(c.OutputTokens ?? 0));
    var input = stats.Calls.Sum(c => (double)c.InputTokens);
    var requests = (double)stats.Admitted;

    // For each limit: what it allowed during the run (a full bucket plus the refill over the elapsed time), and the
    // shortest time in which it lets the run's consumption through (beyond the first full bucket). The binding limit is
    // the one that needs the longest.
    var limits = new[]
    {
        (Name: "requests", Used: requests, Limit: (double)rpm),
        (Name: "input_tokens", Used: input, Limit: (double)itpm),
        (Name: "output_tokens", Used: output, Limit: (double)otpm),
    };
    var binding = limits.MaxBy(l => (l.Used - l.Limit) / (l.Limit / windowSeconds));
    var allowedSeconds = Math.Max(0, (binding.Used - binding.Limit) / (binding.Limit / windowSeconds));
    var share = binding.Used / (binding.Limit + (binding.Limit / windowSeconds * elapsed));
    var answered = stats.Admitted + stats.Rejected;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"workers={workers} tasks={tasks} window_s={windowSeconds} rpm={rpm} itpm={itpm} otpm={otpm} max_tokens={maxTokens} reservation={reservation} tokens_per_s={tokensPerSecond} " +
        $"elapsed_s={elapsed:F1} succeeded={run.Succeeded} failed={run.Failed} binding={binding.Name} used={binding.Used:F0} " +
        $"share_of_binding_limit={share:P1} answered_429={stats.Rejected}/{answered} ({(double)stats.Rejected / answered:P1}) " +
        $"limits_allow_s={allowedSeconds:F1} wall_vs_allowed={(allowedSeconds > 0 ? elapsed / allowedSeconds : double.NaN):F2}x " +
        $"mean_output_tokens={output / Math.Max(1, stats.Admitted):F0}"));
}
finally
{
    await environment.DisposeAsync();
}

ServiceProvider Worker(TestDatabase db, Uri simulatorUrl)
{
    var settings = new Dictionary<string, string?>
    {
        ["Worker:MaxInFlight"] = inFlight.ToString(CultureInfo.InvariantCulture),
        ["Worker:PollInterval"] = "00:00:00.200",
        ["RateLimits:Organization"] = "bench",
        ["RateLimits:Window"] = window.ToString(),
        ["RateLimits:OutputReservation"] = reservation,
    };
    var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
    return db.BuildServices(
        s =>
        {
            foreach (var (key, value) in settings)
            {
                s[key] = value;
            }
        },
        s =>
        {
            s.AddSingleton(TimeProvider.System);
            s.AddClaudeMessagesClient(o =>
            {
                o.BaseUrl = simulatorUrl.ToString();
                o.BaseDelay = TimeSpan.FromMilliseconds(50);
                o.MaxDelay = TimeSpan.FromMilliseconds(500);
            });
            s.AddGenerationPipeline(configuration);
        });
}

int Arg(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
}

string Text(string name, string fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : fallback;
}
