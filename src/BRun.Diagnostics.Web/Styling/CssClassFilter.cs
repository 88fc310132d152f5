using System.Globalization;
using System.Text;

namespace BRun.Diagnostics.Web.Styling;

/// <summary>
/// Cuts a stylesheet down to the rules that can match elements carrying only a given set of classes. A selector is
/// kept when every class it requires (outside parentheses, so <c>:not(.x)</c> never drops a rule) is in the set;
/// at-rules that group rules (<c>@media</c>, <c>@supports</c>, <c>@layer</c>, <c>@container</c>) are cut the same way
/// inside, and every other at-rule (<c>@keyframes</c>, <c>@font-face</c>, …) is kept whole. Kept rules stay in their
/// order, so the cascade among them is the original sheet's.
/// </summary>
public static class CssClassFilter
{
    private static readonly string[] GroupingAtRules = ["@media", "@supports", "@layer", "@container", "@document"];

    /// <summary>The rules of <paramref name="css"/> that can apply to elements whose classes are all in <paramref name="keeps"/>.</summary>
    public static string Filter(string css, Func<string, bool> keeps)
    {
        ArgumentNullException.ThrowIfNull(css);
        ArgumentNullException.ThrowIfNull(keeps);
        var output = new StringBuilder(css.Length / 4);
        FilterBlock(css, 0, css.Length, keeps, output);
        return output.ToString();
    }

    /// <summary>Every class named by a selector of <paramref name="css"/>, inside parentheses too.</summary>
    public static IReadOnlySet<string> ClassNames(string css)
    {
        ArgumentNullException.ThrowIfNull(css);
        var names = new HashSet<string>(StringComparer.Ordinal);
        CollectClassNames(css, 0, css.Length, names);
        return names;
    }

    private static void FilterBlock(string css, int start, int end, Func<string, bool> keeps, StringBuilder output)
    {
        foreach (var rule in Rules(css, start, end))
        {
            if (rule.Open < 0)
            {
                // A statement (@charset, @import, @layer a, b;) or a dangling prelude: kept as written.
                output.Append(rule.Prelude).Append(rule.Statement ? ";" : string.Empty);
            }
            else if (rule.Prelude.StartsWith('@'))
            {
                if (IsGroupingAtRule(rule.Prelude))
                {
                    var inner = new StringBuilder();
                    FilterBlock(css, rule.Open + 1, rule.Close, keeps, inner);
                    if (inner.Length > 0)
                    {
                        output.Append(rule.Prelude).Append('{').Append(inner).Append('}');
                    }
                }
                else
                {
                    output.Append(rule.Prelude).Append(css.AsSpan(rule.Open, rule.Close + 1 - rule.Open));
                }
            }
            else
            {
                var kept = SplitSelectors(rule.Prelude).Where(s => RequiredClasses(s).All(keeps)).ToList();
                if (kept.Count > 0)
                {
                    output.AppendJoin(',', kept).Append(css.AsSpan(rule.Open, rule.Close + 1 - rule.Open));
                }
            }
        }
    }

    private static void CollectClassNames(string css, int start, int end, HashSet<string> names)
    {
        foreach (var rule in Rules(css, start, end))
        {
            if (rule.Open < 0)
            {
                continue;
            }

            if (!rule.Prelude.StartsWith('@'))
            {
                names.UnionWith(ClassesIn(rule.Prelude, insideParentheses: true));
            }
            else if (IsGroupingAtRule(rule.Prelude))
            {
                CollectClassNames(css, rule.Open + 1, rule.Close, names);
            }
        }
    }

    /// <summary>A rule of a block: its prelude, and its own block's braces (Open is -1 for a statement).</summary>
    private readonly record struct Rule(string Prelude, int Open, int Close, bool Statement);

    private static IEnumerable<Rule> Rules(string css, int start, int end)
    {
        var i = start;
        while (true)
        {
            i = SkipTrivia(css, i, end);
            if (i >= end)
            {
                yield break;
            }

            var stop = FindPreludeEnd(css, i, end);
            var prelude = css.AsSpan(i, stop - i).Trim().ToString();
            if (stop >= end || css[stop] != '{')
            {
                yield return new Rule(prelude, -1, -1, stop < end && css[stop] == ';');
                i = stop + 1;
                continue;
            }

            var close = FindBlockEnd(css, stop, end);
            yield return new Rule(prelude, stop, close, false);
            i = close + 1;
        }
    }

    private static bool IsGroupingAtRule(string prelude)
    {
        foreach (var name in GroupingAtRules)
        {
            if (prelude.StartsWith(name, StringComparison.OrdinalIgnoreCase)
                && (prelude.Length == name.Length || !IsNameChar(prelude[name.Length])))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The classes an element must carry for <paramref name="selector"/> to match it (or one of its ancestors).</summary>
    internal static IEnumerable<string> RequiredClasses(string selector) => ClassesIn(selector, insideParentheses: false);

    private static List<string> ClassesIn(string selector, bool insideParentheses)
    {
        var classes = new List<string>();
        var depth = 0;
        for (var i = 0; i < selector.Length; i++)
        {
            var c = selector[i];
            switch (c)
            {
                case '\\':
                    i++;
                    break;
                case '"' or '\'':
                    i = SkipString(selector, i, selector.Length) - 1;
                    break;
                case '[':
                    // An attribute selector's value may hold dots (a[href$=".pdf"]).
                    while (i < selector.Length && selector[i] != ']')
                    {
                        i = selector[i] is '"' or '\'' ? SkipString(selector, i, selector.Length) : i + 1;
                    }

                    break;
                case '(':
                    depth++;
                    break;
                case ')':
                    depth--;
                    break;
                case '.' when (depth == 0 || insideParentheses) && i + 1 < selector.Length && StartsIdentifier(selector, i + 1):
                    var (name, next) = ReadIdentifier(selector, i + 1);
                    classes.Add(name);
                    i = next - 1;
                    break;
            }
        }

        return classes;
    }

    private static bool StartsIdentifier(string s, int i) =>
        s[i] == '\\' || char.IsAsciiLetter(s[i]) || s[i] is '_' or '-' || s[i] > 0x7F;

    private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' || c > 0x7F;

    private static (string Name, int Next) ReadIdentifier(string s, int i)
    {
        var name = new StringBuilder();
        while (i < s.Length)
        {
            var c = s[i];
            if (IsNameChar(c))
            {
                name.Append(c);
                i++;
            }
            else if (c == '\\' && i + 1 < s.Length)
            {
                i = ReadEscape(s, i + 1, name);
            }
            else
            {
                break;
            }
        }

        return (name.ToString(), i);
    }

    // A CSS escape: up to six hex digits and one optional whitespace, or any other character as itself.
    private static int ReadEscape(string s, int i, StringBuilder name)
    {
        var hexEnd = i;
        while (hexEnd < s.Length && hexEnd - i < 6 && char.IsAsciiHexDigit(s[hexEnd]))
        {
            hexEnd++;
        }

        if (hexEnd == i)
        {
            name.Append(s[i]);
            return i + 1;
        }

        var codePoint = int.Parse(s.AsSpan(i, hexEnd - i), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        name.Append(codePoint is 0 or > 0x10FFFF || (codePoint >= 0xD800 && codePoint <= 0xDFFF) ? "\uFFFD" : char.ConvertFromUtf32(codePoint));
        return hexEnd < s.Length && char.IsWhiteSpace(s[hexEnd]) ? hexEnd + 1 : hexEnd;
    }

    private static List<string> SplitSelectors(string prelude)
    {
        var selectors = new List<string>();
        var depth = 0;
        var from = 0;
        for (var i = 0; i < prelude.Length; i++)
        {
            switch (prelude[i])
            {
                case '\\':
                    i++;
                    break;
                case '"' or '\'':
                    i = SkipString(prelude, i, prelude.Length) - 1;
                    break;
                case '(' or '[':
                    depth++;
                    break;
                case ')' or ']':
                    depth--;
                    break;
                case ',' when depth == 0:
                    selectors.Add(prelude[from..i].Trim());
                    from = i + 1;
                    break;
            }
        }

        selectors.Add(prelude[from..].Trim());
        return selectors;
    }

    private static int SkipTrivia(string css, int i, int end)
    {
        while (i < end)
        {
            if (char.IsWhiteSpace(css[i]))
            {
                i++;
            }
            else if (IsCommentStart(css, i, end))
            {
                i = SkipComment(css, i, end);
            }
            else
            {
                break;
            }
        }

        return i;
    }

    // Where a rule's prelude ends: its block's '{', a statement's ';', or the enclosing block's '}'.
    private static int FindPreludeEnd(string css, int i, int end)
    {
        var depth = 0;
        while (i < end)
        {
            var c = css[i];
            if (c == '\\')
            {
                i += 2;
                continue;
            }

            if (c is '"' or '\'')
            {
                i = SkipString(css, i, end);
                continue;
            }

            if (IsCommentStart(css, i, end))
            {
                i = SkipComment(css, i, end);
                continue;
            }

            if (c is '(' or '[')
            {
                depth++;
            }
            else if (c is ')' or ']')
            {
                depth--;
            }
            else if (depth <= 0 && c is '{' or ';' or '}')
            {
                return i;
            }

            i++;
        }

        return end;
    }

    // The '}' closing the block opened at <paramref name="open"/> (or the end, for a sheet cut short).
    private static int FindBlockEnd(string css, int open, int end)
    {
        var depth = 0;
        for (var i = open; i < end; i++)
        {
            var c = css[i];
            if (c == '\\')
            {
                i++;
            }
            else if (c is '"' or '\'')
            {
                i = SkipString(css, i, end) - 1;
            }
            else if (IsCommentStart(css, i, end))
            {
                i = SkipComment(css, i, end) - 1;
            }
            else if (c == '{')
            {
                depth++;
            }
            else if (c == '}' && --depth == 0)
            {
                return i;
            }
        }

        return end - 1;
    }

    private static bool IsCommentStart(string css, int i, int end) => css[i] == '/' && i + 1 < end && css[i + 1] == '*';

    private static int SkipComment(string css, int i, int end)
    {
        var close = css.IndexOf("*/", i + 2, end - i - 2, StringComparison.Ordinal);
        return close < 0 ? end : close + 2;
    }

    // The index after the string starting at <paramref name="i"/> (or the end, for an unclosed string).
    private static int SkipString(string s, int i, int end)
    {
        var quote = s[i];
        for (i++; i < end; i++)
        {
            if (s[i] == '\\')
            {
                i++;
            }
            else if (s[i] == quote || s[i] == '\n')
            {
                return i + 1;
            }
        }

        return end;
    }
}
