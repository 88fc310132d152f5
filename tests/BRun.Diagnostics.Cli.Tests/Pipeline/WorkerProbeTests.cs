using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.Telemetry;
using BRun.Diagnostics.ServiceDefaults;
using BRun.Diagnostics.Testing;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace BRun.Diagnostics.Cli.Tests.Pipeline;

/// <summary>
/// The worker deployable as <c>brun worker</c> builds it (no web UI): its probe port answers the same health checks as
/// the web host and, with Prometheus on, serves the metrics it measured while working a real run.
/// </summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed partial class WorkerProbeTests(IntegrationEnvironment environment)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task The_worker_probe_port_serves_readiness_and_the_task_outcome_metrics_of_the_run_it_worked()
    {
        await using var db = await environment.CreateDatabaseAsync();
        var owner = await db.CreateUserAsync();
        using var host = CliHost.BuildWorker(WorkerSettings(db));
        await host.StartAsync();
        try
        {
            await AddTemplateAsync(db, "probe-complete", "complete");
            var runId = await host.Services.GetRequiredService<RunStore>().CreateAsync(
                owner.Id, new CreateRunRequest(2, "probe-complete", "claude-sonnet-4-5", 2048, 0.7m), CancellationToken.None);
            using var http = new HttpClient { BaseAddress = new Uri(Assert.Single(host.Services.GetRequiredService<HealthProbeServer>().Addresses)) };

            // Counted right after each outcome commits: poll the scrape until both tasks show (a bound, not a timing).
            using var deadline = new CancellationTokenSource(Patience);
            double succeeded;
            while ((succeeded = SucceededTasks(await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)))) < 2 && !deadline.IsCancellationRequested)
            {
                await Task.Delay(200, CancellationToken.None);
            }

            Assert.Equal(2, succeeded);
            await using (var connection = await db.DataSource.OpenConnectionAsync())
            {
                Assert.Equal(2, await connection.ExecuteScalarAsync<int>("SELECT succeeded FROM generation_runs WHERE id = @runId", new { runId }));
            }

            using var live = await http.GetAsync(new Uri("/healthz/live", UriKind.Relative));
            using var ready = await http.GetAsync(new Uri("/healthz/ready", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            using var report = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
            var checks = report.RootElement.GetProperty("checks").EnumerateArray().Select(c => c.GetProperty("name").GetString()).ToList();
            Assert.Contains("postgres", checks);
            Assert.Contains("worker_loop", checks);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_rejected_tasks_log_line_carries_the_trace_id_of_its_task_span()
    {
        await using var db = await environment.CreateDatabaseAsync();
        var owner = await db.CreateUserAsync();
        var logs = new CapturingLoggerProvider();
        var taskSpans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == DiagnosticsTelemetry.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.DisplayName == TaskTracing.TaskSpan)
                {
                    taskSpans.Enqueue(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        using var host = CliHost.BuildWorker(WorkerSettings(db), builder => builder.Logging.AddProvider(logs));
        await host.StartAsync();
        Guid taskId;
        try
        {
            await AddTemplateAsync(db, "probe-cut", "max_tokens");
            var runId = await host.Services.GetRequiredService<RunStore>().CreateAsync(
                owner.Id, new CreateRunRequest(1, "probe-cut", "claude-sonnet-4-5", 2048, 0.7m), CancellationToken.None);
            await using var connection = await db.DataSource.OpenConnectionAsync();
            taskId = await connection.ExecuteScalarAsync<Guid>("SELECT id FROM generation_tasks WHERE run_id = @runId", new { runId });
            using var deadline = new CancellationTokenSource(Patience);
            while (!taskSpans.Any(s => (string?)s.GetTagItem(TaskTracing.TaskIdTag) == taskId.ToString()) && !deadline.IsCancellationRequested)
            {
                await Task.Delay(100, CancellationToken.None);
            }
        }
        finally
        {
            await host.StopAsync();
        }

        var span = Assert.Single(taskSpans, s => (string?)s.GetTagItem(TaskTracing.TaskIdTag) == taskId.ToString());
        var rejected = Assert.Single(logs.Entries, e => e.EventId == 4101 && e.Message.Contains(taskId.ToString(), StringComparison.Ordinal));
        Assert.Equal(span.TraceId.ToHexString(), rejected.TraceId);
    }

    private static Dictionary<string, string?> WorkerSettings(TestDatabase db)
    {
        var settings = db.Settings();
        settings["Demo:Enabled"] = "true";

        // Issue 8 gives the demo simulator an organisation's rate limits; these tests are about probes, not pacing.
        settings["Demo:OrganizationLimits"] = "false";
        settings["Simulator:MinLatency"] = "00:00:00";
        settings["Simulator:MaxLatency"] = "00:00:00";
        settings["Health:ProbeUrls"] = "http://127.0.0.1:0";
        settings["Telemetry:PrometheusEnabled"] = "true";
        settings["Worker:PollInterval"] = "00:00:00.200";
        return settings;
    }

    /// <summary>A template whose every prompt forces one simulator scenario, so the run's outcome is known.</summary>
    private static async Task AddTemplateAsync(TestDatabase db, string name, string scenario)
    {
        await using var connection = await db.DataSource.OpenConnectionAsync();
        await connection.ExecuteAsync(
            "INSERT INTO prompt_templates (name, body) VALUES (@name, @body)",
            new { name, body = $"Persona: {{{{persona}}}}\nVariation: {{{{variation}}}}\n[simulate:{scenario}]" });
    }

    /// <summary>Keeps every log entry with the trace id of the activity it was written in (from the logger's scopes).</summary>
    private sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
    {
        private IExternalScopeProvider? _scopes;

        public ConcurrentQueue<(int EventId, string Message, string? TraceId)> Entries { get; } = new();

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

        public ILogger CreateLogger(string categoryName) => new Logger(this);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerProvider owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => owner._scopes?.Push(state);

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                string? traceId = null;
                owner._scopes?.ForEachScope(
                    (scope, _) =>
                    {
                        if (scope is IEnumerable<KeyValuePair<string, object?>> pairs)
                        {
                            traceId = pairs.FirstOrDefault(p => p.Key == "TraceId").Value?.ToString() ?? traceId;
                        }
                    },
                    (object?)null);
                owner.Entries.Enqueue((eventId.Id, formatter(state, exception), traceId));
            }
        }
    }

    /// <summary>The value of <c>brun_tasks_finished_total{brun_task_outcome="succeeded"}</c> in a Prometheus scrape, 0 when absent.</summary>
    private static double SucceededTasks(string scrape) =>
        SucceededLine().Matches(scrape).Sum(m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex("""^brun_tasks_finished_total\{[^}]*brun_task_outcome="succeeded"[^}]*\} (?<value>[0-9.e+]+)""", RegexOptions.Multiline)]
    private static partial Regex SucceededLine();
}
