using BRun.Diagnostics.Core.Pipeline;

namespace BRun.Diagnostics.Core.Design;

/// <summary>A template body that cannot be saved, with the first offending placeholder named.</summary>
public sealed class TemplatePlaceholderException(string message, string? placeholder, int line)
    : ArgumentException(message)
{
    /// <summary>The unknown placeholder's name, or null for a syntax problem (an unclosed <c>{{</c>).</summary>
    public string? Placeholder { get; } = placeholder;

    /// <summary>1-based line of the problem in the body.</summary>
    public int Line { get; } = line;
}

/// <summary>
/// Checks a template body before it is saved: every <c>{{name}}</c> must be one the renderer fills
/// (<see cref="PromptTemplate.KnownPlaceholders"/>), so a typo is refused at save time instead of failing (or, worse,
/// silently rendering empty) when a run is created.
/// </summary>
public static class TemplatePlaceholders
{
    /// <summary>Longest body accepted, in characters. Default prompts are about 1,500.</summary>
    public const int MaxBodyLength = 100_000;

    /// <summary>The distinct placeholder names used, in order of first use. Throws when the body is invalid.</summary>
    public static IReadOnlyList<string> Check(string body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (string.IsNullOrWhiteSpace(body))
        {
            throw new TemplatePlaceholderException("The template body is empty.", null, 1);
        }

        if (body.Length > MaxBodyLength)
        {
            throw new TemplatePlaceholderException($"The template body is longer than {MaxBodyLength} characters.", null, 1);
        }

        var used = new List<string>();
        var position = 0;
        while (true)
        {
            var open = body.IndexOf("{{", position, StringComparison.Ordinal);
            if (open < 0)
            {
                return used;
            }

            var close = body.IndexOf("}}", open + 2, StringComparison.Ordinal);
            var line = LineOf(body, open);
            if (close < 0)
            {
                throw new TemplatePlaceholderException($"Unclosed placeholder '{{{{' on line {line}.", null, line);
            }

            var name = body.AsSpan(open + 2, close - open - 2).Trim().ToString();
            if (!PromptTemplate.KnownPlaceholders.Contains(name, StringComparer.Ordinal))
            {
                throw new TemplatePlaceholderException(
                    $"Unknown placeholder {{{{{name}}}}} on line {line}; known: {string.Join(", ", PromptTemplate.KnownPlaceholders)}.",
                    name,
                    line);
            }

            if (!used.Contains(name, StringComparer.Ordinal))
            {
                used.Add(name);
            }

            position = close + 2;
        }
    }

    private static int LineOf(string text, int offset)
    {
        var line = 1;
        for (var i = 0; i < offset; i++)
        {
            if (text[i] == '\n')
            {
                line++;
            }
        }

        return line;
    }
}
