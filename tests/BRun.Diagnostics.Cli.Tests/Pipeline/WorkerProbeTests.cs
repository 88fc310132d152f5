using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.ServiceDefaults;
using BRun.Diagnostics.Testing;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

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
        var settings = db.Settings();
        settings["Demo:Enabled"] = "true";

        // Issue 8 gives the demo simulator an organisation's rate limits; this test is about probes, not pacing.
        settings["Demo:OrganizationLimits"] = "false";
        settings["Simulator:MinLatency"] = "00:00:00";
        settings["Simulator:MaxLatency"] = "00:00:00";
        settings["Health:ProbeUrls"] = "http://127.0.0.1:0";
        settings["Telemetry:PrometheusEnabled"] = "true";
        settings["Worker:PollInterval"] = "00:00:00.200";
        using var host = CliHost.BuildWorker(settings);
        await host.StartAsync();
        try
        {
            await using (var connection = await db.DataSource.OpenConnectionAsync())
            {
                await connection.ExecuteAsync(
                    "INSERT INTO prompt_templates (name, body) VALUES ('probe-complete', @body)",
                    new { body = "Persona: {{persona}}\nVariation: {{variation}}\n[simulate:complete]" });
            }

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

    /// <summary>The value of <c>brun_tasks_finished_total{brun_task_outcome="succeeded"}</c> in a Prometheus scrape, 0 when absent.</summary>
    private static double SucceededTasks(string scrape) =>
        SucceededLine().Matches(scrape).Sum(m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex("""^brun_tasks_finished_total\{[^}]*brun_task_outcome="succeeded"[^}]*\} (?<value>[0-9.e+]+)""", RegexOptions.Multiline)]
    private static partial Regex SucceededLine();
}
