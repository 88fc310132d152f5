using System.Globalization;
using System.Text.Json.Serialization;
using BRun.Diagnostics.Core.Design;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Design;
using BRun.Diagnostics.Web.Design;
using BRun.Diagnostics.Web.Runs;

namespace BRun.Diagnostics.Web.Api;

/// <summary>Body of POST /api/templates and PUT /api/templates/{name}.</summary>
public sealed record TemplateWrite(
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("body")] string? Body,
    [property: JsonPropertyName("shared")] bool Shared = false);

/// <summary>Body of POST /api/{personas|arcs|topics} and PUT .../{key}.</summary>
public sealed record ScaffoldingWrite(
    [property: JsonPropertyName("key")] string? Key,
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("description")] string? Description,
    [property: JsonPropertyName("shared")] bool Shared = false);

/// <summary>Body of POST /api/templates/{name}/render.</summary>
public sealed record RenderRequest(
    [property: JsonPropertyName("persona")] string? Persona,
    [property: JsonPropertyName("emotional_arc")] string? EmotionalArc,
    [property: JsonPropertyName("training_topic")] string? TrainingTopic,
    [property: JsonPropertyName("model")] string? Model,
    [property: JsonPropertyName("max_tokens")] int? MaxTokens,
    [property: JsonPropertyName("temperature")] decimal? Temperature,
    [property: JsonPropertyName("conversations")] int? Conversations);

/// <summary>Body of POST /api/runs.</summary>
public sealed record CreateRunBody(
    [property: JsonPropertyName("count")] int? Count,
    [property: JsonPropertyName("template")] string? Template,
    [property: JsonPropertyName("model")] string? Model,
    [property: JsonPropertyName("max_tokens")] int? MaxTokens,
    [property: JsonPropertyName("temperature")] decimal? Temperature,
    [property: JsonPropertyName("matrix")] RunMatrixSpec? Matrix,
    [property: JsonPropertyName("mode")] string? Mode = null);

/// <summary>
/// The generation-design HTTP API: templates (with versions, diff and render), personas, arcs and topics, and run
/// creation with a matrix. Authorisation is the fallback policy; row-level security decides visibility, so another
/// member's private item is a 404. Every 4xx is problem+json naming the parameter (and the placeholder, when one
/// is unknown).
/// </summary>
public static class GenerationDesignEndpoints
{
    public const string ArchivedKey = "archived";
    public const string VersionKey = "version";
    public const string DiffFromKey = "from";
    public const string DiffToKey = "to";
    private const string VersionAccepts = "a version number, a whole number from 1";

    private static IReadOnlyList<ApiQueryParameter> ListParameters { get; } =
    [
        new(ArchivedKey, "true lists the archived items instead of the usable ones (default false).", Values: ["true", "false"]),
    ];

    private static IReadOnlyList<ApiQueryParameter> VersionParameters { get; } =
    [
        new(VersionKey, "The version to show (default: the current one).", IsInteger: true, Minimum: 1, Maximum: int.MaxValue),
    ];

    private static IReadOnlyList<ApiQueryParameter> DiffParameters { get; } =
    [
        new(DiffFromKey, "The older version.", IsInteger: true, Minimum: 1, Maximum: int.MaxValue, Required: true, Example: "1"),
        new(DiffToKey, "The newer version (default: the current one).", IsInteger: true, Minimum: 1, Maximum: int.MaxValue),
    ];

    public static IEndpointRouteBuilder MapGenerationDesignApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var templates = endpoints.MapGroup("/api/templates");
        templates.MapGet("/", async (HttpContext context, DesignDashboardService design, CancellationToken ct) =>
        {
            var (archived, problem) = ArchivedFlag(context);
            if (problem is not null)
            {
                return problem;
            }

            return Results.Ok((await design.ListTemplatesAsync(archived, ct).ConfigureAwait(false)).Select(TemplateJson));
        }).WithQueryParameters(ListParameters);
        templates.MapPost("/", (TemplateWrite body, DesignDashboardService design, CancellationToken ct) => Guarded(async () =>
        {
            if (string.IsNullOrWhiteSpace(body.Name))
            {
                return Problem(StatusCodes.Status400BadRequest, "name", "name is required.");
            }

            var created = await design.CreateTemplateAsync(body.Name, body.Body ?? string.Empty, body.Shared, ct).ConfigureAwait(false);
            return Results.Created($"/api/templates/{Uri.EscapeDataString(created.Name)}", TemplateJson(created));
        }, "name"));
        templates.MapGet("/{name}", (string name, HttpContext context, DesignDashboardService design, CancellationToken ct) => Guarded(async () =>
        {
            if (Refused(context, VersionParameters) is { } refused)
            {
                return refused;
            }

            var (given, versionProblem) = PageQuery.ParseNumber(context.Request.Query[VersionKey], VersionKey, 1, int.MaxValue, 0, VersionAccepts);
            if (versionProblem is not null)
            {
                return versionProblem.ToResult();
            }

            int? version = given == 0 ? null : given;
            var template = await RequireTemplateAsync(design, name, ct).ConfigureAwait(false);
            var shown = await design.GetVersionAsync(template.Id, version ?? template.CurrentVersion, ct).ConfigureAwait(false);
            return shown is null
                ? NoSuchVersion(VersionKey, template, version!.Value)
                : Results.Ok(new { template = TemplateJson(template), version = shown.Version, body = shown.Body, created_at = shown.CreatedAt });
        }, "name")).WithQueryParameters(VersionParameters);
        templates.MapPut("/{name}", (string name, TemplateWrite body, DesignDashboardService design, CancellationToken ct) => Guarded(async () =>
            Results.Ok(TemplateJson(await design.UpdateTemplateAsync(name, body.Body ?? string.Empty, ct).ConfigureAwait(false))), "name"));
        templates.MapGet("/{name}/versions", (string name, HttpContext context, DesignDashboardService design, CancellationToken ct) => Guarded(async () =>
        {
            if (Refused(context, []) is { } refused)
            {
                return refused;
            }

            var template = await RequireTemplateAsync(design, name, ct).ConfigureAwait(false);
            var versions = await design.ListVersionsAsync(template.Id, ct).ConfigureAwait(false);
            return Results.Ok(versions.Select(v => new { version = v.Version, created_at = v.CreatedAt, body = v.Body }));
        }, "name"));
        templates.MapGet("/{name}/diff", (string name, HttpContext context, DesignDashboardService design, CancellationToken ct) => Guarded(async () =>
        {
            if (Refused(context, DiffParameters) is { } refused)
            {
                return refused;
            }

            var query = context.Request.Query;
            var (from, fromProblem) = PageQuery.ParseNumber(query[DiffFromKey], DiffFromKey, 1, int.MaxValue, 0, VersionAccepts);
            if (fromProblem is not null || from == 0)
            {
                return (fromProblem ?? new ParameterProblem(DiffFromKey, "from is required: the older version to compare.", VersionAccepts)).ToResult();
            }

            var (to, toProblem) = PageQuery.ParseNumber(query[DiffToKey], DiffToKey, 1, int.MaxValue, 0, VersionAccepts);
            if (toProblem is not null)
            {
                return toProblem.ToResult();
            }

            var template = await RequireTemplateAsync(design, name, ct).ConfigureAwait(false);
            var older = await design.GetVersionAsync(template.Id, from, ct).ConfigureAwait(false);
            var newer = await design.GetVersionAsync(template.Id, to == 0 ? template.CurrentVersion : to, ct).ConfigureAwait(false);
            if (older is null || newer is null)
            {
                return older is null ? NoSuchVersion(DiffFromKey, template, from) : NoSuchVersion(DiffToKey, template, to);
            }

            return Results.Ok(new
            {
                from = older.Version,
                to = newer.Version,
                lines = DesignDashboardService.Diff(older.Body, newer.Body).Select(l => l.ToString()),
            });
        }, "name")).WithQueryParameters(DiffParameters);
        templates.MapPost("/{name}/render", (string name, RenderRequest? body, DesignDashboardService design, CancellationToken ct) => Guarded(async () =>
        {
            body ??= new RenderRequest(null, null, null, null, null, null, null);
            foreach (var (field, key) in new[] { ("persona", body.Persona), ("emotional_arc", body.EmotionalArc), ("training_topic", body.TrainingTopic) })
            {
                if (key is not null && key.Any(char.IsControl))
                {
                    return Problem(StatusCodes.Status400BadRequest, field, $"{field} must be a key such as those GET /api/personas, /api/arcs and /api/topics list, without control characters.");
                }
            }

            if (body.MaxTokens is < 1 || body.Conversations is < 1 || body.Temperature is < 0 or > 1)
            {
                return Problem(StatusCodes.Status400BadRequest, body.MaxTokens is < 1 ? "max_tokens" : body.Conversations is < 1 ? "conversations" : "temperature",
                    "max_tokens and conversations must be positive and temperature between 0 and 1.");
            }

            var preview = await design.PreviewAsync(new PromptPreviewRequest(
                name, body.Persona, body.EmotionalArc, body.TrainingTopic, body.Model ?? CreateRunForm.DefaultModel,
                body.MaxTokens ?? 4096, body.Temperature, body.Conversations ?? 1), ct).ConfigureAwait(false);
            return Results.Ok(new
            {
                template = preview.Template.TemplateName,
                version = preview.Template.Version,
                persona = preview.Scaffolding.Persona.Key,
                emotional_arc = preview.Scaffolding.EmotionalArc.Key,
                training_topic = preview.Scaffolding.TrainingTopic.Key,
                prompt = preview.Prompt,
                request = System.Text.Json.JsonDocument.Parse(preview.RequestBody).RootElement,
                input_tokens = preview.Tokens.InputTokens,
                count_error = preview.Tokens.Error,
                conversations = preview.Conversations,
                cost_per_conversation_usd = preview.CostPerConversation,
                estimated_cost_usd = preview.EstimatedRunCost,
            });
        }, "name"));
        MapFlag(templates, "archive", (d, n, ct) => d.SetTemplateArchivedAsync(n, true, ct));
        MapFlag(templates, "restore", (d, n, ct) => d.SetTemplateArchivedAsync(n, false, ct));
        MapFlag(templates, "share", (d, n, ct) => d.SetTemplateSharedAsync(n, true, ct));
        MapFlag(templates, "unshare", (d, n, ct) => d.SetTemplateSharedAsync(n, false, ct));

        MapScaffolding(endpoints, "/api/personas", ScaffoldingKind.Persona);
        MapScaffolding(endpoints, "/api/arcs", ScaffoldingKind.EmotionalArc);
        MapScaffolding(endpoints, "/api/topics", ScaffoldingKind.TrainingTopic);

        endpoints.MapPost("/api/runs", (CreateRunBody body, RunDashboardService runs, CancellationToken ct) => Guarded(async () =>
        {
            if (body.Matrix?.PerCombination is null && body.Count is not > 0)
            {
                return Problem(StatusCodes.Status400BadRequest, "count", "count must be positive (or give matrix.per_combination).");
            }

            if (body.MaxTokens is < 1 || body.Temperature is < 0 or > 1)
            {
                return Problem(StatusCodes.Status400BadRequest, body.MaxTokens is < 1 ? "max_tokens" : "temperature",
                    "max_tokens must be positive and temperature between 0 and 1.");
            }

            var request = new CreateRunRequest(body.Count ?? 0, body.Template ?? "default", body.Model ?? CreateRunForm.DefaultModel, body.MaxTokens ?? 4096, body.Temperature,
                body.Mode ?? RunMode.Online)
            {
                Matrix = body.Matrix,
            };

            // The limits the CLI and the New run dialog apply, with the same words; the first problem names its field.
            if (RunLimits.Problems(request) is [var (field, message), ..])
            {
                return Problem(StatusCodes.Status400BadRequest, field, message);
            }

            var id = await runs.CreateAsync(request, ct).ConfigureAwait(false);
            return Results.Created($"/api/runs/{id:D}", new { id });
        }, "template"));

        endpoints.MapGet("/api/runs/{id}/design", async (string id, HttpContext context, DesignDashboardService design, CancellationToken ct) =>
        {
            var (runId, idProblem) = ApiQueryParameters.RouteId(context, id, "run id");
            if (idProblem is not null)
            {
                return idProblem;
            }

            var run = await design.GetRunDesignAsync(runId, ct).ConfigureAwait(false);
            if (run is null)
            {
                return Problem(StatusCodes.Status404NotFound, "id", $"No run {runId:D} that you can see.");
            }

            var breakdown = await design.GetRunBreakdownAsync(runId, ct).ConfigureAwait(false);
            return Results.Ok(new
            {
                template = run.Version?.TemplateName,
                version = run.Version?.Version,
                current_version = run.Current?.CurrentVersion,
                diff_to_current = run.DiffToCurrent.Select(l => l.ToString()),
                matrix = run.Matrix,
                scaffolding = run.Scaffolding.Select(s => new { kind = s.Kind, key = s.Key, name = s.Name, description = s.Description, weight = s.Weight }),
                breakdown = breakdown.Select(BreakdownJson),
            });
        });
        return endpoints;
    }

    internal static object BreakdownJson(BreakdownRow r) => new
    {
        dimension = r.Dimension, key = r.Key, name = r.Name, total = r.Total, succeeded = r.Succeeded, failed = r.Failed,
        pending = r.Pending, failure_rate = r.FailureRate,
    };

    private static void MapScaffolding(IEndpointRouteBuilder endpoints, string prefix, ScaffoldingKind kind)
    {
        var group = endpoints.MapGroup(prefix);
        group.MapGet("/", async (HttpContext context, DesignDashboardService design, CancellationToken ct) =>
        {
            var (archived, problem) = ArchivedFlag(context);
            if (problem is not null)
            {
                return problem;
            }

            return Results.Ok((await design.ListScaffoldingAsync(kind, archived, ct).ConfigureAwait(false)).Select(ScaffoldingJson));
        }).WithQueryParameters(ListParameters);
        group.MapPost("/", (ScaffoldingWrite body, DesignDashboardService design, CancellationToken ct) => Guarded(async () =>
        {
            var missing = string.IsNullOrWhiteSpace(body.Key) ? "key" : string.IsNullOrWhiteSpace(body.Name) ? "name" : string.IsNullOrWhiteSpace(body.Description) ? "description" : null;
            if (missing is not null)
            {
                return Problem(StatusCodes.Status400BadRequest, missing, $"{missing} is required.");
            }

            var added = await design.AddScaffoldingAsync(kind, body.Key!, body.Name!, body.Description!, body.Shared, ct).ConfigureAwait(false);
            return Results.Created($"{prefix}/{Uri.EscapeDataString(added.Key)}", ScaffoldingJson(added));
        }, "key"));
        group.MapPut("/{key}", (string key, ScaffoldingWrite body, DesignDashboardService design, CancellationToken ct) => Guarded(async () =>
            Results.Ok(ScaffoldingJson(await design.UpdateScaffoldingAsync(kind, key, body.Name, body.Description, ct).ConfigureAwait(false))), "key"));
        MapFlag(group, "archive", (d, k, ct) => d.SetScaffoldingArchivedAsync(kind, k, true, ct));
        MapFlag(group, "restore", (d, k, ct) => d.SetScaffoldingArchivedAsync(kind, k, false, ct));
        MapFlag(group, "share", (d, k, ct) => d.SetScaffoldingSharedAsync(kind, k, true, ct));
        MapFlag(group, "unshare", (d, k, ct) => d.SetScaffoldingSharedAsync(kind, k, false, ct));
    }

    /// <summary>POST {group}/{name}/{verb}: sets one flag on the named template or item; 204.</summary>
    private static void MapFlag(RouteGroupBuilder group, string verb, Func<DesignDashboardService, string, CancellationToken, Task> set) =>
        group.MapPost("/{name}/" + verb, (string name, DesignDashboardService design, CancellationToken ct) => Guarded(async () =>
        {
            await set(design, name, ct).ConfigureAwait(false);
            return Results.NoContent();
        }, "name"));

    /// <summary>The <c>archived</c> flag of a list, after refusing any other parameter.</summary>
    private static (bool Value, IResult? Problem) ArchivedFlag(HttpContext context)
    {
        if (Refused(context, ListParameters) is { } refused)
        {
            return (false, refused);
        }

        var (value, problem) = ApiQueryParameters.ParseFlag(context.Request.Query, ArchivedKey, fallback: false);
        return (value, problem?.ToResult());
    }

    /// <summary>A version the template does not have is a bad parameter value (the template itself exists), so a 400 naming it.</summary>
    private static IResult NoSuchVersion(string key, TemplateRecord template, int version) => new ParameterProblem(
        key,
        string.Create(CultureInfo.InvariantCulture, $"Template '{template.Name}' has no version {version}."),
        string.Create(CultureInfo.InvariantCulture, $"a version from 1 to {template.CurrentVersion}")).ToResult();

    private static IResult? Refused(HttpContext context, IReadOnlyList<ApiQueryParameter> parameters) =>
        ApiQueryParameters.RefuseUnknownOrRepeated(context.Request.Query, parameters)?.ToResult();

    private static async Task<TemplateRecord> RequireTemplateAsync(DesignDashboardService design, string name, CancellationToken ct) =>
        await design.FindTemplateAsync(name, ct).ConfigureAwait(false) ?? throw new DesignNotFoundException($"No template '{name}' that you can see.");

    /// <summary>Turns the design refusals into problem+json: unknown placeholder 400 (naming it), not found 404, not allowed 403, conflict 409.</summary>
    private static async Task<IResult> Guarded(Func<Task<IResult>> action, string parameter)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (TemplatePlaceholderException ex)
        {
            return Results.Problem(ex.Message, statusCode: StatusCodes.Status400BadRequest, title: "Invalid template body",
                extensions: new Dictionary<string, object?> { ["parameter"] = "body", ["placeholder"] = ex.Placeholder, ["line"] = ex.Line });
        }
        catch (DesignNotFoundException ex)
        {
            return Problem(StatusCodes.Status404NotFound, parameter, ex.Message);
        }
        catch (UnauthorizedAccessException ex)
        {
            return Problem(StatusCodes.Status403Forbidden, parameter, ex.Message);
        }
        catch (DesignConflictException ex)
        {
            return Problem(StatusCodes.Status409Conflict, parameter, ex.Message);
        }
        catch (ArgumentException ex) when (ex is not UnstorableTextException)
        {
            // A NUL in the text is answered by ApiExceptionMiddleware, which names the field that holds it.
            return Problem(StatusCodes.Status400BadRequest, parameter, ex.Message);
        }
    }

    private static IResult Problem(int status, string parameter, string detail) =>
        Results.Problem(detail, statusCode: status, extensions: new Dictionary<string, object?> { ["parameter"] = parameter });

    private static object TemplateJson(TemplateRecord t) => new
    {
        name = t.Name, version = t.CurrentVersion, visibility = t.Visibility.ToString().ToLowerInvariant(), owner = t.OwnerEmail,
        archived = t.IsArchived, updated_at = t.UpdatedAt,
    };

    private static object ScaffoldingJson(ScaffoldingRecord s) => new
    {
        key = s.Key, name = s.Name, description = s.Description, visibility = s.Visibility.ToString().ToLowerInvariant(),
        owner = s.OwnerEmail, archived = s.IsArchived,
    };
}
