using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using BRun.Diagnostics.Core.Design;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Batches;
using BRun.Diagnostics.Core.Validation;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.RateLimits;
using BRun.Diagnostics.Infrastructure.Users;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace BRun.Diagnostics.Cli.Commands;

/// <summary>
/// <c>brun run create|status|wait|cancel|requeue|report</c>. The CLI holds the database credentials, so it acts as an operator
/// (the system identity) for reading and cancelling; runs are created for the user named with <c>--user</c>.
/// </summary>
internal static class RunCommand
{
    public const int ExitOk = 0;
    public const int ExitNotDone = 1;
    public const int ExitUsage = 2;

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
        command.Subcommands.Add(RunReportCommand.Create());
        return command;
    }

    private static Command CreateSubcommand()
    {
        var count = new Option<int>("--count") { Description = "How many conversations to generate (with a weighted matrix: spread by weight)." };
        var template = new Option<string>("--template") { Description = "Prompt template name.", DefaultValueFactory = _ => "default" };
        var model = new Option<string>("--model") { Description = "Claude model.", DefaultValueFactory = _ => "claude-sonnet-4-5" };
        var maxTokens = new Option<int>("--max-tokens") { Description = "max_tokens per request.", DefaultValueFactory = _ => 4096 };
        var temperature = new Option<decimal?>("--temperature") { Description = "Sampling temperature, 0 to 1.", DefaultValueFactory = _ => 0.7m };
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
        var perCombination = new Option<int?>("--per-combination") { Description = "Matrix: N conversations per combination (then --count is not needed)." };
        var command = new Command("create", "Create a run and its tasks; prints the run id alone on stdout.")
        {
            count, template, model, maxTokens, temperature, user, mode, personas, arcs, topics, perCombination,
        };
        command.SetAction(async (parse, ct) =>
        {
            var request = new CreateRunRequest(
                parse.GetValue(count), parse.GetValue(template)!, parse.GetValue(model)!, parse.GetValue(maxTokens), parse.GetValue(temperature), parse.GetValue(mode)!);
            try
            {
                request = request with { Matrix = MatrixFrom(parse.GetValue(personas), parse.GetValue(arcs), parse.GetValue(topics), parse.GetValue(perCombination)) };
            }
            catch (FormatException ex)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync(ex.Message).ConfigureAwait(false);
                return ExitUsage;
            }

            if ((request.Matrix?.PerCombination is null && request.Count <= 0) || request.Matrix?.PerCombination <= 0
                || request.MaxTokens <= 0 || request.Temperature is < 0 or > 1)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync(
                    "--count (or --per-combination) and --max-tokens must be positive and --temperature between 0 and 1.").ConfigureAwait(false);
                return ExitUsage;
            }

            using var host = CliHost.BuildForData();
            var email = parse.GetValue(user)!;
            var owner = await host.Services.GetRequiredService<AppUserStore>().GetByEmailAsync(email, ct).ConfigureAwait(false);
            if (owner is null)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"No user {email}. Create one with: brun user create --email {email} --password ...").ConfigureAwait(false);
                return ExitUsage;
            }

            try
            {
                var runId = await host.Services.GetRequiredService<RunStore>().CreateAsync(owner.Id, request, ct).ConfigureAwait(false);
                await parse.InvocationConfiguration.Output.WriteLineAsync(runId.ToString("D")).ConfigureAwait(false);
                return ExitOk;
            }
            catch (ArgumentException ex)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync(ex.Message).ConfigureAwait(false);
                return ExitUsage;
            }
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

    private static Command StatusSubcommand()
    {
        var runId = new Argument<Guid>("RUN_ID") { Description = "The run id." };
        var format = new Option<string>("--format") { Description = "text or json.", DefaultValueFactory = _ => "text" };
        var command = new Command("status", "Print a run's status and counts.") { runId, format };
        command.SetAction(async (parse, ct) =>
        {
            using var host = CliHost.BuildForData();
            var run = await host.Services.GetRequiredService<RunStore>().GetAsync(DbIdentity.System, parse.GetValue(runId), ct).ConfigureAwait(false);
            var output = parse.InvocationConfiguration.Output;
            if (run is null)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"No run {parse.GetValue(runId)}.").ConfigureAwait(false);
                return ExitUsage;
            }

            var batches = run.Mode == RunMode.Batch
                ? await host.Services.GetRequiredService<MessageBatchStore>().ListForRunAsync(DbIdentity.System, run.Id, ct).ConfigureAwait(false)
                : [];
            // Batch-mode tasks wait on the Batches API, not on the per-minute limits the pacer keeps.
            var wait = run.Mode == RunMode.Batch
                ? null
                : await host.Services.GetRequiredService<RateLimitStore>().GetRunWaitAsync(DbIdentity.System, run.Model, run.Status, run.Pending, ct).ConfigureAwait(false);
            if (string.Equals(parse.GetValue(format), "json", StringComparison.OrdinalIgnoreCase))
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
                        $"  batch {batch.Seq} {batch.AnthropicBatchId ?? "(not confirmed)"} {batch.SubmissionState}/{batch.ProcessingStatus ?? "-"}: {batch.RequestCount} requests, {batch.CountSucceeded} succeeded, {batch.CountErrored} errored, {batch.CountCanceled} canceled, {batch.CountExpired} expired, {batch.CountProcessing} processing")).ConfigureAwait(false);
                }
            }

            return ExitOk;
        });
        return command;
    }

    private static Command WaitSubcommand()
    {
        var runId = new Argument<Guid>("RUN_ID") { Description = "The run id." };
        var timeout = new Option<double>("--timeout") { Description = "Seconds to wait before giving up (exit 1).", DefaultValueFactory = _ => 3600 };
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
                    await parse.InvocationConfiguration.Error.WriteLineAsync($"No run {id}.").ConfigureAwait(false);
                    return ExitUsage;
                }

                if (run.IsFinished && run.FinishedAt is not null)
                {
                    await parse.InvocationConfiguration.Output.WriteLineAsync(JsonSerializer.Serialize(ToJson(run, []), JsonOptions)).ConfigureAwait(false);
                    return ExitOk;
                }

                if (time.GetUtcNow() >= deadline)
                {
                    await parse.InvocationConfiguration.Error.WriteLineAsync($"Run {id} is still {run.Status} ({run.Done}/{run.Total} done).").ConfigureAwait(false);
                    return ExitNotDone;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(500), time, ct).ConfigureAwait(false);
            }
        });
        return command;
    }

    private static Command CancelSubcommand()
    {
        var runId = new Argument<Guid>("RUN_ID") { Description = "The run id." };
        var command = new Command("cancel", "Cancel a run: pending tasks are dropped, in-flight ones finish.") { runId };
        command.SetAction(async (parse, ct) =>
        {
            using var host = CliHost.BuildForData();
            var cancelled = await host.Services.GetRequiredService<RunStore>().CancelAsync(DbIdentity.System, parse.GetValue(runId), ct).ConfigureAwait(false);
            await (cancelled ? parse.InvocationConfiguration.Output : parse.InvocationConfiguration.Error)
                .WriteLineAsync(cancelled ? "cancelled" : "not running (finished, cancelled already, or no such run)").ConfigureAwait(false);
            return cancelled ? ExitOk : ExitNotDone;
        });
        return command;
    }

    private static Command RequeueSubcommand()
    {
        var taskId = new Argument<Guid?>("TASK_ID")
        {
            Description = "A failed task (generation_tasks.id, also failed_generations.task_id). Omit it with --run.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var run = new Option<Guid?>("--run") { Description = "Re-queue every failed task of this run at once." };
        var failureType = new Option<string?>("--failure-type")
        {
            Description = "With --run: only failures of this type (api_error, truncation, parse_error, validation_error).",
        };
        var command = new Command("requeue", "Generate failed tasks again, as new tasks of their run: one task (prints its new id), or a whole run with --run (prints the count).")
        {
            taskId, run, failureType,
        };
        command.SetAction(async (parse, ct) =>
        {
            var error = parse.InvocationConfiguration.Error;
            var task = parse.GetValue(taskId);
            var runId = parse.GetValue(run);
            var type = parse.GetValue(failureType);
            if ((task is null) == (runId is null))
            {
                await error.WriteLineAsync("Give either TASK_ID or --run RUN_ID.").ConfigureAwait(false);
                return ExitUsage;
            }

            if (type is not null && (runId is null || type is not (FailureTypeNames.ApiError or FailureTypeNames.Truncation or FailureTypeNames.ParseError or FailureTypeNames.ValidationError)))
            {
                await error.WriteLineAsync("--failure-type needs --run and one of: api_error, truncation, parse_error, validation_error.").ConfigureAwait(false);
                return ExitUsage;
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
                await error.WriteLineAsync("not re-queued: no such failed task, already re-queued, or its run was cancelled").ConfigureAwait(false);
                return ExitNotDone;
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
        }),
        // Null unless pending tasks are held back by the organisation's rate limits: "pacing" (the limits are used up)
        // or "rate_limited" (paused after a 429), until the given time.
        rate_limit = wait is null ? null : new { reason = wait.Reason, until = DateTime.SpecifyKind(wait.Until, DateTimeKind.Utc) },
    };
}
