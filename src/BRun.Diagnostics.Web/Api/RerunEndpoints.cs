using System.Text.Json.Serialization;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Reruns;
using BRun.Diagnostics.Web.Failures;
using BRun.Diagnostics.Web.Reruns;

namespace BRun.Diagnostics.Web.Api;

/// <summary>What a re-run created (or, with <c>dry_run</c>, would create).</summary>
public sealed record RerunResponse(
    [property: JsonPropertyName("run_id")] Guid? RunId,
    [property: JsonPropertyName("run_url")] string? RunUrl,
    [property: JsonPropertyName("dry_run")] bool DryRun,
    [property: JsonPropertyName("count")] int Count,
    [property: JsonPropertyName("skipped")] int Skipped,
    [property: JsonPropertyName("source_run_id")] Guid? SourceRunId,
    [property: JsonPropertyName("source_runs")] int SourceRuns,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("max_tokens")] int MaxTokens,
    [property: JsonPropertyName("temperature")] decimal? Temperature,
    [property: JsonPropertyName("template")] string? Template,
    [property: JsonPropertyName("template_version")] int? TemplateVersion,
    [property: JsonPropertyName("mode")] string Mode,
    [property: JsonPropertyName("input_tokens")] long InputTokens,
    [property: JsonPropertyName("input_tokens_guessed")] int InputTokensGuessed,
    [property: JsonPropertyName("estimated_cost_usd")] decimal? EstimatedCostUsd)
{
    public static RerunResponse From(RerunPlan plan, Guid? runId)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return new(runId, runId is { } id ? $"/api/runs/{id:D}" : null, runId is null, plan.Count, plan.Skipped, plan.SourceRunId, plan.SourceRunCount,
            plan.Model, plan.MaxTokens, plan.Temperature, plan.TemplateName, plan.TemplateVersion, plan.Mode, plan.InputTokens, plan.InputTokensGuessed,
            plan.EstimatedCostUsd);
    }
}

/// <summary>
/// <c>POST /api/failed-generations/rerun</c>: generates failed generations again as a new run with changed parameters.
/// The rows are those matching the query's filters (the same parser and rules as <c>GET /api/failed-generations</c>)
/// or the body's <c>ids</c>; the body names the changes (<see cref="RerunApiBody"/>). 201 with the new run, 200 for a
/// dry run, 400 problem+json naming the parameter, 404 when nothing the caller can see matches (another member's
/// failures are invisible).
/// </summary>
public static class RerunEndpoints
{
    public static IEndpointRouteBuilder MapRerunApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapPost("/api/failed-generations/rerun", RerunAsync)
            .WithTags("Failed generations")
            .WithName("RerunFailedGenerations")
            .WithSummary("Generate the matching (or listed) failed generations again as a new run, with changed max_tokens, model, temperature or template.")
            .WithQueryParameters(ApiQueryParameters.FailureFilter)
            .Accepts<RerunRequestDocument>("application/json")
            .Produces<RerunResponse>(StatusCodes.Status201Created)
            .Produces<RerunResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return endpoints;
    }

    private static async Task<IResult> RerunAsync(HttpContext context, RerunService reruns, CancellationToken ct)
    {
        var filter = FailureFilterQuery.Parse(context.Request.Query);
        if (!filter.IsValid)
        {
            return filter.ToProblemResult();
        }

        var (body, bodyProblem) = await RerunApiBody.ReadAsync(context.Request.Body, ct).ConfigureAwait(false);
        if (bodyProblem is not null)
        {
            return bodyProblem.ToResult();
        }

        if (body!.Ids is not null && !filter.State.IsEmpty)
        {
            return new ParameterProblem(RerunApiBody.IdsKey, "ids selects rows itself; give either ids or filter parameters, not both.", "ids alone, or filter parameters alone").ToResult();
        }

        try
        {
            if (body.DryRun)
            {
                var plan = await reruns.PlanAsync(filter.State, body.Ids, body.Changes, ct).ConfigureAwait(false);
                return Results.Ok(RerunResponse.From(plan, null));
            }

            var result = await reruns.CreateAsync(filter.State, body.Ids, body.Changes, ct).ConfigureAwait(false);
            return Results.Created($"/api/runs/{result.RunId:D}", RerunResponse.From(result.Plan, result.RunId));
        }
        catch (RerunRefusedException ex)
        {
            return new ParameterProblem(ex.Field, ex.Message, Accepted(ex.Field)).ToResult();
        }
        catch (RerunNothingToDoException ex)
        {
            return ApiProblems.NotFound(ex.Message);
        }
    }

    private static string Accepted(string field) => field switch
    {
        RerunApiBody.MaxTokensKey => RunLimits.MaxTokensRule,
        RerunApiBody.TemperatureKey => RunLimits.TemperatureRule,
        RerunApiBody.ModelKey => "a model id such as claude-sonnet-4-5",
        RerunApiBody.TemplateKey => "the name of a prompt template you can see, such as default",
        RerunApiBody.TemplateVersionKey => "an existing version number of that template",
        RerunApiBody.IdsKey => "1 to 100,000 failed generation ids",
        RerunApiBody.ModeKey => "online or batch (lower case)",
        _ => "filters that match at most 100,000 failed generations",
    };
}

/// <summary>The request body as the OpenAPI document describes it (the endpoint reads it with <see cref="RerunApiBody"/>).</summary>
public sealed record RerunRequestDocument(
    [property: JsonPropertyName("ids")] IReadOnlyList<Guid>? Ids,
    [property: JsonPropertyName("max_tokens")] int? MaxTokens,
    [property: JsonPropertyName("model")] string? Model,
    [property: JsonPropertyName("temperature")] decimal? Temperature,
    [property: JsonPropertyName("template")] string? Template,
    [property: JsonPropertyName("template_version")] int? TemplateVersion,
    [property: JsonPropertyName("mode")] string? Mode,
    [property: JsonPropertyName("dry_run")] bool? DryRun);
