using System.Text;

namespace BRun.Diagnostics.Core.Pipeline;

/// <summary>One scaffolding choice (persona, emotional arc or training topic) as stored.</summary>
public sealed record ScaffoldingItem(Guid Id, string Key, string Name, string Description);

/// <summary>The scaffolding a task was generated from.</summary>
public sealed record Scaffolding(ScaffoldingItem Persona, ScaffoldingItem EmotionalArc, ScaffoldingItem TrainingTopic);

/// <summary>
/// Renders <c>{{placeholder}}</c> templates in one pass. Unknown placeholders are an error rather than
/// silently left in the prompt, because a literal <c>{{typo}}</c> sent to Claude wastes a whole generation.
/// </summary>
public static class PromptTemplate
{
    /// <summary>Every placeholder a template may use; anything else is refused when a template is saved.</summary>
    public static IReadOnlyList<string> KnownPlaceholders { get; } =
    [
        "variation",
        "persona", "persona_name", "persona_description",
        "emotional_arc", "emotional_arc_name", "emotional_arc_description",
        "training_topic", "training_topic_name", "training_topic_description",
    ];

    /// <param name="scaffolding">The persona, arc and topic.</param>
    /// <param name="variation">A per-task number, so tasks sharing a scaffolding still ask for distinct conversations.</param>
    public static IReadOnlyDictionary<string, string> Values(Scaffolding scaffolding, int variation)
    {
        ArgumentNullException.ThrowIfNull(scaffolding);
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["variation"] = variation.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["persona"] = scaffolding.Persona.Key,
            ["persona_name"] = scaffolding.Persona.Name,
            ["persona_description"] = scaffolding.Persona.Description,
            ["emotional_arc"] = scaffolding.EmotionalArc.Key,
            ["emotional_arc_name"] = scaffolding.EmotionalArc.Name,
            ["emotional_arc_description"] = scaffolding.EmotionalArc.Description,
            ["training_topic"] = scaffolding.TrainingTopic.Key,
            ["training_topic_name"] = scaffolding.TrainingTopic.Name,
            ["training_topic_description"] = scaffolding.TrainingTopic.Description,
        };
    }

    public static string Render(string template, IReadOnlyDictionary<string, string> values)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(values);
        var output = new StringBuilder(template.Length + 512);
        var position = 0;
        while (position < template.Length)
        {
            var open = template.IndexOf("{{", position, StringComparison.Ordinal);
            if (open < 0)
            {
                output.Append(template, position, template.Length - position);
                break;
            }

            var close = template.IndexOf("}}", open + 2, StringComparison.Ordinal);
            if (close < 0)
            {
                throw new FormatException($"Unclosed placeholder at offset {open}.");
            }

            output.Append(template, position, open - position);
            var name = template.AsSpan(open + 2, close - open - 2).Trim().ToString();
            if (!values.TryGetValue(name, out var value))
            {
                throw new FormatException($"Unknown placeholder {{{{{name}}}}} at offset {open}.");
            }

            output.Append(value);
            position = close + 2;
        }

        return output.ToString();
    }
}
