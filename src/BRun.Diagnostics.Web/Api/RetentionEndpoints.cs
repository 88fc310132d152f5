using System.Text.Json.Serialization;
using BRun.Diagnostics.Infrastructure.Retention;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Web.Retention;
using Microsoft.AspNetCore.Authorization;

namespace BRun.Diagnostics.Web.Api;

/// <summary>One retention run (a row of <c>retention_runs</c>). In a dry run the counts say what a real run would delete.</summary>
public sealed record RetentionRunResponse(
    [property: JsonPropertyName("id")] Guid Id,
    [property: JsonPropertyName("triggered_by")] string TriggeredBy,
    [property: JsonPropertyName("started_at")] DateTimeOffset StartedAt,
    [property: JsonPropertyName("finished_at")] DateTimeOffset? FinishedAt,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("dry_run")] bool DryRun,
    [property: JsonPropertyName("older_than_days")] int OlderThanDays,
    [property: JsonPropertyName("cutoff")] DateTimeOffset Cutoff,
    [property: JsonPropertyName("failures_deleted")] long FailuresDeleted,
    [property: JsonPropertyName("blobs_deleted")] long BlobsDeleted,
    [property: JsonPropertyName("blobs_missing")] long BlobsMissing,
    [property: JsonPropertyName("kept_quarantined")] long KeptQuarantined,
    [property: JsonPropertyName("kept_retrying")] long KeptRetrying,
    [property: JsonPropertyName("calls_pruned")] long CallsPruned,
    [property: JsonPropertyName("batches")] int Batches,
    [property: JsonPropertyName("last_error")] string? LastError)
{
    public static RetentionRunResponse From(RetentionRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return new(run.Id, run.TriggeredBy, Utc(run.StartedAt), run.FinishedAt is { } f ? Utc(f) : null, run.Status, run.DryRun, run.OlderThanDays,
            Utc(run.Cutoff), run.FailuresDeleted, run.BlobsDeleted, run.BlobsMissing, run.KeptQuarantined, run.KeptRetrying, run.CallsPruned,
            run.Batches, run.LastError);
    }

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));
}

/// <summary>The retention log: <c>{ "items": [...], "total": N, "page": P, "limit": L }</c>.</summary>
public sealed record RetentionRunListResponse(
    [property: JsonPropertyName("items")] IReadOnlyList<RetentionRunResponse> Items,
    [property: JsonPropertyName("total")] long Total,
    [property: JsonPropertyName("page")] int Page,
    [property: JsonPropertyName("limit")] int Limit);

/// <summary>
/// <c>GET /api/retention/runs</c>: the retention log, newest first, paged. Admins only (retention is an operator
/// action): a member gets a 403 problem+json from the authorization policy, before the endpoint runs.
/// </summary>
public static class RetentionEndpoints
{
    private static IReadOnlyList<ApiQueryParameter> Parameters { get; } = ApiQueryParameters.Paging(RetentionLogService.PageSize);

    public static IEndpointRouteBuilder MapRetentionApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapGet("/api/retention/runs", ListAsync)
            .RequireAuthorization(new AuthorizeAttribute { Roles = AppUserRoles.Admin })
            .WithTags("Retention")
            .WithName("ListRetentionRuns")
            .WithSummary("Retention runs (dry or real), newest first, paged: when, the cutoff, what was deleted and how it ended. Admins only.")
            .WithQueryParameters(Parameters)
            .Produces<RetentionRunListResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden);
        return endpoints;
    }

    private static async Task<IResult> ListAsync(HttpContext context, RetentionLogService log, CancellationToken ct)
    {
        var query = context.Request.Query;
        if (ApiQueryParameters.RefuseUnknownOrRepeated(query, Parameters) is { } unknown)
        {
            return unknown.ToResult();
        }

        var (page, problem) = PageQuery.Parse(query, RetentionLogService.PageSize);
        if (problem is not null)
        {
            return problem.ToResult();
        }

        // The policy has already refused members; this is the second lock, should the role claim and the database disagree.
        if (await log.PageAsync(page!, ct).ConfigureAwait(false) is not { } result)
        {
            return Results.Problem(title: "Forbidden", detail: "The retention log is for admins.", statusCode: StatusCodes.Status403Forbidden);
        }

        return Results.Ok(new RetentionRunListResponse([.. result.Items.Select(RetentionRunResponse.From)], result.TotalCount, page!.PageIndex + 1, page.PageSize));
    }
}
