using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using BRun.Diagnostics.Core.Design;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Batches;
using BRun.Diagnostics.Core.Validation;
using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Live;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.RateLimits;
using BRun.Diagnostics.Infrastructure.Users;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace BRun.Diagnostics.Cli.Commands;

/// <summary>
/// <c>brun run create|status|wait|cancel|pause|resume|requeue|report</c>. The CLI holds the database credentials, so it acts as an operator
/// (the system identity) for reading and cancelling; runs are created for the user named with <c>--user</c>.
/// </summary>
internal static class RunCommand
{
    public const int ExitOk = CliExit.Ok;
    public const int ExitNotDone = CliExit.Failure;
    public const int ExitUsage = CliExit.Usage;

    /// <summary>The user runs are created for when <c>--user</c> is not given: the demo admin that the web host seeds.</summary>
    public const string DefaultUserEmail = "admin@brun.local";

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static Command Create()
    {
        var command = new Command("run", "Create, follow and cancel generation runs.");
        command.Subcommands.Add(CreateSubcommand());
        command.Subcommands.Add(StatusSubcommand());
        command.Subcommands.Add(WaitSubcommand());
        command.Subcommands.Add(CancelSubcommand());
        command.Subcommands.Add(RunPauseCommands.Pause());
        command.Subcommands.Add(RunPauseCommands.Resume());
        command.Subcommands.Add(RequeueSubcommand());
        command.Subcommands.Add(RunRerunCommand.Create());
        command.Subcommands.Add(RunReportCommand.Create());
        return command;
    }

    private static Command CreateSubcommand()
    {
        // Not required by the parser: a matrix with --per-combination decides the count itself.
        var count = CliValues.Int("--count", $"How many conversations to generate: {RunLimits.CountRule} (with a weighted matrix: spread by weight).", RunLimits.MinCount, RunLimits.MaxCount, 0);
        var template = new Option<string>("--template") { Description = "Prompt template name.", DefaultValueFactory = _ => "default" };
        var model = new Option<string>("--model") { Description = "Claude model.", DefaultValueFactory = _ => "claude-sonnet-4-5" };
        var maxTokens = CliValues.Int("--max-tokens", $"max_tokens per request: {RunLimits.MaxTokensRule}.", RunLimits.MinMaxTokens, RunLimits.MaxMaxTokens, 4096);
        var temperature = CliValues.Decimal("--temperature", "Sampling temperature, 0 to 1.", 0m, 1m, 0.7m);
        var user = new Option<string>("--user") { Description = "Email of the user the run belongs to.", DefaultValueFactory = _ => DefaultUserEmail };
        var mode = new Option<string>("--mode")
        {
            Description = "online (one call per task, answers in seconds) or batch (Message Batches API, half price, answers within 24 h).",
            DefaultValueFactory = _ => RunMode.Online,
        };
        mode.AcceptOnlyFromAmong(RunMode.Online, RunMode.Batch);
        var personas = new Option<string?>("--personas") { Description = "Matrix: persona keys, key[:weight],... (default: all usable)." };
        var arcs = new Option<string?>("--arcs") { Description = "Matrix: emotional arc keys, key[:weight],... (default: all usable)." };
        var topics = new Option<string?>("--topics") { Description = "Matrix: training topic keys, key[:weight],... (default: all usable)." };
        var perCombination = CliValues.Int("--per-combination", $"Matrix: N conversations per combination, {RunLimits.CountRule} (then --count is not needed).", RunLimits.MinCount, RunLimits.MaxCount, 0);
        var command = new Command("create", "Create a run and its tasks; prints the run id alone on stdout.")
        {
            count, template, model, maxTokens, temperature, user, mode, personas, arcs, topics, perCombination,
        };
        command.SetAction(async (parse, ct) =>
        {
            var request = new CreateRunRequest(
                parse.GetValue(count), parse.GetValue(template)!, parse.GetValue(model)!, parse.GetValue(maxTokens), parse.GetValue(temperature), parse.GetValue(mode)!);
            var perCombinationValue = parse.GetValue(perCombination);
            try
            {
                request = request with { Matrix = MatrixFrom(parse.GetValue(personas), parse.GetValue(arcs), parse.GetValue(topics), perCombinationValue == 0 ? null : perCombinationValue) };
            }
            catch (FormatException ex)
            {
                throw CliException.Usage(ex.Message);
            }

            if (request.Count == 0 && request.Matrix?.PerCombination is null)
            {
                throw CliException.Usage("give --count N (or --per-combination N with a matrix).");
            }

            if (RunLimits.Problems(request) is [var first, ..])
            {
                throw CliException.Usage(first.Message);
            }

            using var host = CliHost.BuildForData();
            var owner = await FindOwnerAsync(host, UserCommand.RequireEmail("--user", parse.GetValue(user)), ct).ConfigureAwait(false);
            var templates = await new RunProgressReader(host.Services.GetRequiredService<IUserScopedConnectionFactory>())
                .ListTemplatesAsync(DbIdentity.System, ct).ConfigureAwait(false);
            if (!templates.Any(t => t.Name == request.TemplateName))
            {
                throw CliException.Usage($"No prompt template named '{request.TemplateName}'. Templates: {string.Join(", ", templates.Select(t => t.Name))}.");
            }

            Guid runId;
            try
            {
                runId = await host.Services.GetRequiredService<RunStore>().CreateAsync(owner.Id, request, ct).ConfigureAwait(false);
            }
            catch (ArgumentException ex)
            {
                // The store refuses a matrix that names unknown or archived scaffolding, with the key in the message.
                throw CliException.Usage(ex.Message);
            }

            await parse.InvocationConfiguration.Output.WriteLineAsync(runId.ToString("D")).ConfigureAwait(false);
            return ExitOk;
        });
        return command;
    }

    private static RunMatrixSpec? MatrixFrom(string? personas, string? arcs, string? topics, int? perCombination) =>
        personas is null && arcs is null && topics is null && perCombination is null
            ? null
            : new RunMatrixSpec
            {
                Personas = RunMatrixSpec.ParseAxis(personas),
                EmotionalArcs = RunMatrixSpec.ParseAxis(arcs),
                TrainingTopics = RunMatrixSpec.ParseAxis(topics),
                PerCombination = perCombination,
            };

    /// <summary>
    /// The run's owner. On a database with no user at all, demo mode creates the seed admin exactly as the web host
    /// does on its first start; otherwise the message says how to create the first user.
    /// </summary>
    internal static async Task<AppUser> FindOwnerAsync(IHost host, string email, CancellationToken ct)
    {
        var users = host.Services.GetRequiredService<AppUserStore>();
        if (await users.GetByEmailAsync(email, ct).ConfigureAwait(false) is { } owner)
        {
            return owner;
        }

        var configuration = host.Services.GetRequiredService<IConfiguration>();
        var auth = configuration.GetSection(AuthOptions.SectionName).Get<AuthOptions>() ?? new AuthOptions();
        var demo = configuration.GetValue<bool>("Demo:Enabled");
        if (demo && string.Equals(email, auth.SeedAdminEmail, StringComparison.OrdinalIgnoreCase) && !string.IsNullOrEmpty(auth.SeedAdminPassword))
        {
            var accounts = new LocalAccountService(host.Services.GetRequiredService<IUserScopedConnectionFactory>());
            if (await accounts.CreateFirstAdminAsync(auth.SeedAdminEmail, auth.SeedAdminName, auth.SeedAdminPassword, ct).ConfigureAwait(false) is { } seeded)
            {
                await Console.Error.WriteLineAsync($"brun run create: demo mode: created the first user {seeded.Email} (admin), as the web host does on its first start.").ConfigureAwait(false);
                return seeded;
            }
        }

        throw CliException.Usage($"No user {email}. Create it with: brun user create --email {email} --admin --password-stdin (on a new database the web host creates admin@brun.local on its first start).");
    }

    private static Command StatusSubcommand()
    {
        var runId = CliValues.Id("RUN_ID", "run id");
        var format = CliValues.Choice("--format", "Output format.", "text", "text", "json");
        var command = new Command("status", "Print a run's status and counts.") { runId, format };
        command.SetAction(async (parse, ct) =>
        {
            using var host = CliHost.BuildForData();
            var run = await host.Services.GetRequiredService<RunStore>().GetAsync(DbIdentity.System, parse.GetValue(runId), ct).ConfigureAwait(false);
            var output = parse.InvocationConfiguration.Output;
            if (run is null)
            {
                throw CliException.Usage($"No run {parse.GetValue(runId)}.");
            }

            var batches = run.Mode == RunMode.Batch
                ? await host.Services.GetRequiredService<MessageBatchStore>().ListForRunAsync(DbIdentity.System, run.Id, ct).ConfigureAwait(false)
                : [];
            // Batch-mode tasks wait on the Batches API, not on the per-minute limits the pacer keeps.
            var wait = run.Mode == RunMode.Batch
                ? null
                : await host.Services.GetRequiredService<RateLimitStore>().GetRunWaitAsync(DbIdentity.System, run.Model, run.Status, run.Pending, ct).ConfigureAwait(false);
            if (parse.GetValue(format) == "json")
            {
                await output.WriteLineAsync(JsonSerializer.Serialize(ToJson(run, batches, wait), JsonOptions)).ConfigureAwait(false);
            }
            else
            {
                var waiting = wait is null
                    ? string.Empty
                    : string.Create(CultureInfo.InvariantCulture, $"; waiting on a rate limit ({wait.Reason}) until {wait.Until:yyyy-MM-dd'T'HH:mm:ss.fff'Z'}");
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{run.Id} {run.Status}: {run.Succeeded} succeeded, {run.Failed} failed, {run.Cancelled} cancelled, {run.InFlight} in flight, {run.Pending} pending of {run.Total}; cost ${run.CostUsd:0.0000} (failed ${run.FailedCostUsd:0.0000}){waiting}")).ConfigureAwait(false);
                foreach (var batch in batches)
                {
                    await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"  batch {batch.Seq} {batch.AnthropicBatchId ?? "(not confirmed)"} {batch.SubmissionState}/{batch.ProcessingStatus ?? "-"}: {batch.RequestCount} requests, {batch.CountSucceeded} succeeded, {batch.CountErrored} errored, {batch.CountCanceled} canceled, {batch.CountExpired} expired, {batch.CountProcessing} processing{(batch.ResultsLinesUnreadable > 0 ? $"; {batch.ResultsLinesUnreadable} results {(batch.ResultsLinesUnreadable == 1 ? "line" : "lines")} unreadable (GET /api/runs/{run.Id:D}/batches/{batch.Seq}/unreadable-lines)" : string.Empty)}")).ConfigureAwait(false);
                }
            }

            return ExitOk;
        });
        return command;
    }

    private static Command WaitSubcommand()
    {
        var runId = CliValues.Id("RUN_ID", "run id");
        var timeout = CliValues.Seconds("--timeout", "Seconds to wait before giving up (exit 1).", 3600);
        var command = new Command("wait", "Block until the run is finished (exit 0) or the timeout passes (exit 1).") { runId, timeout };
        command.SetAction(async (parse, ct) =>
        {
            using var host = CliHost.BuildForData();
            var runs = host.Services.GetRequiredService<RunStore>();
            var time = host.Services.GetRequiredService<TimeProvider>();
            var id = parse.GetValue(runId);
            var deadline = time.GetUtcNow() + TimeSpan.FromSeconds(parse.GetValue(timeout));
            while (true)
            {
                var run = await runs.GetAsync(DbIdentity.System, id, ct).ConfigureAwait(false);
                if (run is null)
                {
                    throw CliException.Usage($"No run {id}.");
                }

                if (run.IsFinished && run.FinishedAt is not null)
                {
                    await parse.InvocationConfiguration.Output.WriteLineAsync(JsonSerializer.Serialize(ToJson(run, []), JsonOptions)).ConfigureAwait(false);
                    return ExitOk;
                }

                if (time.GetUtcNow() >= deadline)
                {
                    throw CliException.Failed($"run {id} is still {run.Status} ({run.Done}/{run.Total} done) after the timeout.");
                }

                await Task.Delay(TimeSpan.FromMilliseconds(500), time, ct).ConfigureAwait(false);
            }
        });
        return command;
    }

    private static Command CancelSubcommand()
    {
        var runId = CliValues.Id("RUN_ID", "run id");
        var command = new Command("cancel", "Cancel a run: pending tasks are dropped, in-flight ones finish.") { runId };
        command.SetAction(async (parse, ct) =>
        {
            using var host = CliHost.BuildForData();
            var runs = host.Services.GetRequiredService<RunStore>();
            var id = parse.GetValue(runId);
            if (await runs.GetAsync(DbIdentity.System, id, ct).ConfigureAwait(false) is null)
            {
                throw CliException.Usage($"No run {id}.");
            }

            if (!await runs.CancelAsync(DbIdentity.System, id, ct).ConfigureAwait(false))
            {
                throw CliException.Failed($"run {id} is not running (finished or cancelled already).");
            }

            await parse.InvocationConfiguration.Output.WriteLineAsync("cancelled").ConfigureAwait(false);
            return ExitOk;
        });
        return command;
    }

    private static Command RequeueSubcommand()
    {
        var taskId = CliValues.OptionalId("TASK_ID", "task id");
        taskId.Description = "A failed task (generation_tasks.id, also failed_generations.task_id). Omit it with --run.";
        var run = CliValues.IdOption("--run", "run id", "Re-queue every failed task of this run at once.");
        var failureType = CliValues.Choice("--failure-type", "With --run: only failures of this type.", string.Empty,
            FailureTypeNames.ApiError, FailureTypeNames.Truncation, FailureTypeNames.ParseError, FailureTypeNames.ValidationError);
        var command = new Command("requeue", "Generate failed tasks again, as new tasks of their run: one task (prints its new id), or a whole run with --run (prints the count).")
        {
            taskId, run, failureType,
        };
        command.SetAction(async (parse, ct) =>
        {
            var task = parse.GetValue(taskId);
            var runId = parse.GetValue(run);
            var type = parse.GetValue(failureType) is { Length: > 0 } given ? given : null;
            if ((task is null) == (runId is null))
            {
                throw CliException.Usage("give either TASK_ID or --run RUN_ID.");
            }

            if (type is not null && runId is null)
            {
                throw CliException.Usage("--failure-type needs --run.");
            }

            using var host = CliHost.BuildForData();
            var runs = host.Services.GetRequiredService<RunStore>();
            if (runId is { } wholeRun)
            {
                var count = await runs.RequeueFailedAsync(DbIdentity.System, wholeRun, type, ct).ConfigureAwait(false);
                await parse.InvocationConfiguration.Output.WriteLineAsync(count.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false);
                return count > 0 ? ExitOk : ExitNotDone;
            }

            var requeued = await runs.RequeueAsync(DbIdentity.System, task!.Value, ct).ConfigureAwait(false);
            if (requeued is not { } id)
            {
                throw CliException.Failed("not re-queued: no such failed task, already re-queued, or its run was cancelled.");
            }

            await parse.InvocationConfiguration.Output.WriteLineAsync(id.ToString("D")).ConfigureAwait(false);
            return ExitOk;
        });
        return command;
    }

    private static object ToJson(RunSnapshot run, IReadOnlyList<MessageBatchRow> batches, RateLimitWait? wait = null) => new
    {
        id = run.Id,
        status = run.Status,
        mode = run.Mode,
        total = run.Total,
        succeeded = run.Succeeded,
        failed = run.Failed,
        cancelled = run.Cancelled,
        in_flight = run.InFlight,
        pending = run.Pending,
        cost_usd = run.CostUsd,
        failed_cost_usd = run.FailedCostUsd,
        created_at = run.CreatedAt,
        finished_at = run.FinishedAt,
        batches = batches.Select(b => new
        {
            seq = b.Seq,
            batch_id = b.AnthropicBatchId,
            submission = b.SubmissionState,
            processing_status = b.ProcessingStatus,
            requests = b.RequestCount,
            processing = b.CountProcessing,
            succeeded = b.CountSucceeded,
            errored = b.CountErrored,
            canceled = b.CountCanceled,
            expired = b.CountExpired,
            results_ingested = b.ResultsLinesDone,
            results_unreadable = b.ResultsLinesUnreadable,
        }),
        // Null unless pending tasks are held back by the organisation's rate limits: "pacing" (the limits are used up)
        // or "rate_limited" (paused after a 429), until the given time.
        rate_limit = wait is null ? null : new { reason = wait.Reason, until = DateTime.SpecifyKind(wait.Until, DateTimeKind.Utc) },
    };
}
