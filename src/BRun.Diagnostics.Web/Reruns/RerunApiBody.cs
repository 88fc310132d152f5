using System.Globalization;
using System.Text.Json;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Web.Api;
using BRun.Diagnostics.Web.Failures;

namespace BRun.Diagnostics.Web.Reruns;

/// <summary>
/// The JSON body of <c>POST /api/failed-generations/rerun</c>, read strictly so every bad field is a problem naming it
/// (the model binder's errors would name none): <c>ids</c>, <c>max_tokens</c>, <c>model</c>, <c>temperature</c>,
/// <c>template</c>, <c>template_version</c>, <c>dry_run</c>. Every field is optional; null means "unchanged".
/// </summary>
public sealed record RerunApiBody(IReadOnlyList<Guid>? Ids, RerunChanges Changes, bool DryRun)
{
    public const string IdsKey = "ids";
    public const string MaxTokensKey = "max_tokens";
    public const string ModelKey = "model";
    public const string TemperatureKey = "temperature";
    public const string TemplateKey = "template";
    public const string TemplateVersionKey = "template_version";
    public const string DryRunKey = "dry_run";
    public const string ModeKey = "mode";
    public const string BodyKey = "body";

    public static IReadOnlyList<string> Keys { get; } = [IdsKey, MaxTokensKey, ModelKey, TemperatureKey, TemplateKey, TemplateVersionKey, ModeKey, DryRunKey];

    private const string KeysAccepted = "a JSON object with ids, max_tokens, model, temperature, template, template_version, mode, dry_run (all optional)";

    /// <summary>Reads the body; an empty body is "no changes, no selection".</summary>
    public static async Task<(RerunApiBody? Body, ParameterProblem? Problem)> ReadAsync(Stream body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        using var buffer = new MemoryStream();
        await body.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        if (buffer.Length == 0)
        {
            return (new RerunApiBody(null, RerunChanges.None, false), null);
        }

        try
        {
            using var json = JsonDocument.Parse(buffer.ToArray());
            return Parse(json.RootElement);
        }
        catch (JsonException)
        {
            return (null, new ParameterProblem(BodyKey, "The body is not valid JSON.", KeysAccepted));
        }
    }

    /// <summary>Reads one JSON object; the first bad field is the problem.</summary>
    public static (RerunApiBody? Body, ParameterProblem? Problem) Parse(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return (null, new ParameterProblem(BodyKey, $"The body is a JSON {root.ValueKind.ToString().ToLowerInvariant()}, not an object.", KeysAccepted));
        }

        IReadOnlyList<Guid>? ids = null;
        var changes = RerunChanges.None;
        var dryRun = false;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
        {
            var name = property.Name;
            var value = property.Value;
            if (!Keys.Contains(name, StringComparer.Ordinal))
            {
                return Fail(FailureFilterQuery.Shorten(name), $"'{FailureFilterQuery.Shorten(name)}' is not a field of this body.", KeysAccepted);
            }

            if (!seen.Add(name))
            {
                return Fail(name, $"{name} is given twice.", "each field at most once");
            }

            if (value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            switch (name)
            {
                case IdsKey:
                    if (ReadIds(value) is not { } read)
                    {
                        return Fail(name, "ids must be an array of failed generation ids.", string.Create(CultureInfo.InvariantCulture, $"an array of 1 to {RunLimits.MaxCount:N0} GUIDs such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301"));
                    }

                    ids = read;
                    break;
                case MaxTokensKey:
                    if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var maxTokens))
                    {
                        return Fail(name, "max_tokens must be a whole number.", RunLimits.MaxTokensRule);
                    }

                    changes = changes with { MaxTokens = maxTokens };
                    break;
                case TemperatureKey:
                    if (value.ValueKind != JsonValueKind.Number || !value.TryGetDecimal(out var temperature))
                    {
                        return Fail(name, "temperature must be a number.", RunLimits.TemperatureRule);
                    }

                    changes = changes with { Temperature = temperature };
                    break;
                case TemplateVersionKey:
                    if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var version))
                    {
                        return Fail(name, "template_version must be a whole number.", "a version number of 1 or more");
                    }

                    changes = changes with { TemplateVersion = version };
                    break;
                case DryRunKey:
                    if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    {
                        return Fail(name, "dry_run must be true or false.", "true or false");
                    }

                    dryRun = value.GetBoolean();
                    break;
                case ModeKey:
                    if (value.ValueKind != JsonValueKind.String || !RunMode.IsValid(value.GetString()))
                    {
                        return Fail(name, "mode must be online or batch.", "online or batch (lower case)");
                    }

                    changes = changes with { Mode = value.GetString() };
                    break;
                default:
                    if (value.ValueKind != JsonValueKind.String || value.GetString() is not { } text || text.Any(char.IsControl))
                    {
                        return Fail(name, $"{name} must be a string without control characters.", name == ModelKey ? "a model id such as claude-sonnet-4-5" : "a prompt template name such as default");
                    }

                    changes = name == ModelKey ? changes with { Model = text } : changes with { TemplateName = text };
                    break;
            }
        }

        return (new RerunApiBody(ids, changes, dryRun), null);
    }

    private static List<Guid>? ReadIds(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        var ids = new List<Guid>(value.GetArrayLength());
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || ApiIds.Parse(item.GetString()) is not { } id)
            {
                return null;
            }

            ids.Add(id);
        }

        return ids;
    }

    private static (RerunApiBody?, ParameterProblem?) Fail(string parameter, string detail, string accepted) =>
        (null, new ParameterProblem(parameter, detail, accepted));
}
