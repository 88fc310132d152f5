using System.CommandLine;
using System.Globalization;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Reruns;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Cli.Commands;

/// <summary>
/// <c>brun run rerun [filters] [--max-tokens K] [--model M] [--temperature T] [--template NAME] [--dry-run]</c>: generates
/// every failed generation matching the failure list's filters again, as a new run of <c>--user</c> that records where it
/// came from (the same store as <c>POST /api/failed-generations/rerun</c> and the dashboard's bulk re-run). It acts as
/// that user, so row-level security decides which failures it sees (a member's own; an admin's, all). The model filter
/// is <c>--source-model</c> here, because <c>--model</c> sets the new run's model.
/// </summary>
internal static class RunRerunCommand
{
    public static Command Create()
    {
        var filters = new FailureFilterOptions(modelOption: "--source-model");
        // 0 means "not given": the main source run's value is kept.
        var maxTokens = CliValues.Int("--max-tokens", $"New max_tokens per request: {RunLimits.MaxTokensRule}. Default: unchanged.", RunLimits.MinMaxTokens, RunLimits.MaxMaxTokens, 0);
        var model = new Option<string?>("--model") { Description = "New Claude model. Default: unchanged." };
        var temperature = CliValues.Decimal("--temperature", "New sampling temperature, 0 to 1. Default: unchanged.", 0m, 1m, null);
        var template = new Option<string?>("--template") { Description = "Render the prompts again with this template (each task's persona, arc and topic). Default: the prompts as sent." };
        var templateVersion = CliValues.Int("--template-version", "That template's version. Default: its current one.", 1, int.MaxValue, 0);
        var mode = new Option<string?>("--mode") { Description = "online or batch (Message Batches API, half price, answers within 24 h). Default: unchanged." };
        mode.AcceptOnlyFromAmong(RunMode.Online, RunMode.Batch);
        var user = new Option<string>("--user") { Description = "Email of the user the re-run belongs to and whose failures it sees.", DefaultValueFactory = _ => RunCommand.DefaultUserEmail };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print what would be re-run (count, parameters, estimated cost) and create nothing." };
        var command = new Command("rerun", "Generate the failed generations matching the filters again as a new run, with changed parameters; prints the new run id.")
        {
            maxTokens, model, temperature, template, templateVersion, mode, user, dryRun,
        };
        filters.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var request = new RerunRequest
            {
                Filter = filters.Read(parse),
                MaxTokens = parse.GetValue(maxTokens) is var k and > 0 ? k : null,
                Model = parse.GetValue(model),
                Temperature = parse.GetValue(temperature),
                TemplateName = parse.GetValue(template),
                TemplateVersion = parse.GetValue(templateVersion) is var v and > 0 ? v : null,
                Mode = parse.GetValue(mode),
            };
            if (request.Problems() is [var first, ..])
            {
                throw CliException.Usage(first.Message);
            }

            using var host = CliHost.BuildForData();
            var owner = await RunCommand.FindOwnerAsync(host, UserCommand.RequireEmail("--user", parse.GetValue(user)), ct).ConfigureAwait(false);
            var reruns = host.Services.GetRequiredService<RunRerunStore>();
            var output = parse.InvocationConfiguration.Output;
            try
            {
                if (parse.GetValue(dryRun))
                {
                    var plan = await reruns.PlanAsync(owner.Id, request, ct).ConfigureAwait(false);
                    if (plan.IsEmpty)
                    {
                        throw CliException.Failed($"nothing to re-run: no failed generation that {owner.Email} can see matches ({plan.Skipped:N0} skipped).");
                    }

                    await output.WriteLineAsync(Describe(plan)).ConfigureAwait(false);
                    return CliExit.Ok;
                }

                var result = await reruns.CreateAsync(owner.Id, request, ct).ConfigureAwait(false);
                await parse.InvocationConfiguration.Error.WriteLineAsync(Describe(result.Plan)).ConfigureAwait(false);
                await output.WriteLineAsync(result.RunId.ToString("D")).ConfigureAwait(false);
                return CliExit.Ok;
            }
            catch (RerunRefusedException ex)
            {
                throw CliException.Usage(ex.Message);
            }
            catch (RerunNothingToDoException ex)
            {
                throw CliException.Failed($"nothing to re-run: {ex.Message}");
            }
        });
        return command;
    }

    /// <summary>One line: what would be (or was) re-run, with which parameters, at what estimated cost.</summary>
    internal static string Describe(RerunPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var cost = plan.EstimatedCostUsd is { } usd
            ? string.Create(CultureInfo.InvariantCulture, $"estimated cost at most ${usd:0.00##}")
            : "no price for this model";
        var template = plan.TemplateName is null ? "prompts as sent" : string.Create(CultureInfo.InvariantCulture, $"template {plan.TemplateName} v{plan.TemplateVersion}");
        var temperature = plan.Temperature is { } t ? t.ToString(CultureInfo.InvariantCulture) : "default";
        return string.Create(CultureInfo.InvariantCulture,
            $"Re-run of {plan.Count:N0} failed generations ({plan.Skipped:N0} skipped) from {plan.SourceRunCount:N0} runs: model {plan.Model}, max_tokens {plan.MaxTokens:N0}, temperature {temperature}, {template}, {plan.Mode}; {cost}.");
    }
}
