using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace BRun.Diagnostics.Cli;

/// <summary>
/// Arguments and options that parse with messages in the user's words ("RUN_ID 'abc' is not a run id") instead of
/// the parser's type names ("expected type 'System.Guid'"), each with its own range check and message.
/// </summary>
internal static class CliValues
{
    public static Argument<Guid> Id(string name, string what) => new(name)
    {
        Description = $"The {what} (a GUID such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301).",
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
            if (Guid.TryParse(text, out var id))
            {
                return id;
            }

            result.AddError($"{name} '{Shorten(text)}' is not a {what}; expected a GUID such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301.");
            return default;
        },
    };

    /// <summary>An id argument that may be left out (its command then needs another way to name what it acts on).</summary>
    public static Argument<Guid?> OptionalId(string name, string what) => new(name)
    {
        Description = $"The {what} (a GUID).",
        Arity = ArgumentArity.ZeroOrOne,
        CustomParser = result => ParseOptionalId(result, name, what),
    };

    /// <summary>An option that takes an id, with the same message as an id argument.</summary>
    public static Option<Guid?> IdOption(string name, string what, string description) => new(name)
    {
        Description = description,
        CustomParser = result => ParseOptionalId(result, name, what),
    };

    private static Guid? ParseOptionalId(ArgumentResult result, string name, string what)
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
        if (Guid.TryParse(text, out var id))
        {
            return id;
        }

        result.AddError($"{name} '{Shorten(text)}' is not a {what}; expected a GUID such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301.");
        return null;
    }

    public static Option<int> Int(string name, string description, int min, int max, int? defaultValue = null)
    {
        var option = new Option<int>(name)
        {
            Description = description,
            Required = defaultValue is null,
            CustomParser = result => ParseInt(result, name, min, max),
        };
        if (defaultValue is { } value)
        {
            option.DefaultValueFactory = _ => value;
        }

        return option;
    }

    public static Option<double> Seconds(string name, string description, double defaultValue) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0 && seconds <= 31_536_000)
            {
                return seconds;
            }

            result.AddError($"{name} '{Shorten(text)}' is not a number of seconds from 0 to 31,536,000 (a year).");
            return 0;
        },
    };

    public static Option<decimal?> Decimal(string name, string description, decimal min, decimal max, decimal? defaultValue) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
            if (decimal.TryParse(text, NumberStyles.Number, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
            {
                return value;
            }

            result.AddError(string.Create(CultureInfo.InvariantCulture, $"{name} '{Shorten(text)}' is not a number from {min} to {max}."));
            return null;
        },
    };

    /// <summary>An option that accepts only <paramref name="choices"/> (lower case), with a message that lists them.</summary>
    public static Option<string> Choice(string name, string description, string defaultValue, params string[] choices) => new(name)
    {
        Description = $"{description} One of: {string.Join(", ", choices)}.",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
            if (choices.Contains(text, StringComparer.Ordinal))
            {
                return text;
            }

            result.AddError($"{name} '{Shorten(text)}' is not accepted; use one of: {string.Join(", ", choices)}.");
            return defaultValue;
        },
    };

    private static int ParseInt(ArgumentResult result, string name, int min, int max)
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }

        result.AddError(string.Create(CultureInfo.InvariantCulture, $"{name} '{Shorten(text)}' is not a whole number from {min:N0} to {max:N0}."));
        return 0;
    }

    internal static string Shorten(string text) => text.Length <= 60 ? text : string.Concat(text.AsSpan(0, 60), "…");
}
