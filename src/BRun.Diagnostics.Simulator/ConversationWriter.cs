using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace BRun.Diagnostics.Simulator;

/// <summary>The persona, arc and topic a conversation is written for.</summary>
internal sealed record ConversationSpec(string Persona, string EmotionalArc, string TrainingTopic);

/// <summary>
/// Writes emotionally intelligent financial-planning conversations as JSON text in the structured-output shape
/// <c>{"conversation_metadata": {...}, "turns": [...]}</c>. Quotes, newlines, backslashes and non-ASCII characters
/// occur the way they do in real output, so the escapes that break naive truncation checks are present.
/// </summary>
internal static partial class ConversationWriter
{
    private static readonly JsonWriterOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonWriterOptions Indented = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = true };

    private static readonly string[] Personas =
    [
        "anxious_pre_retiree", "overwhelmed_debtor", "young_professional", "newly_widowed",
        "gig_worker", "single_parent", "recent_inheritor", "burned_out_business_owner",
    ];

    private static readonly string[] Arcs =
    [
        "overwhelm_to_agency", "shame_to_acceptance", "confusion_to_clarity", "fear_to_confidence",
        "grief_to_stability", "avoidance_to_engagement",
    ];

    private static readonly string[] Topics =
    [
        "retirement", "budgeting", "debt_payoff", "emergency_fund", "investing_basics", "insurance", "estate_planning",
    ];

    private static readonly string[] UserLines =
    [
        "I'm 52 and I just realized I only have about $80,000 saved for retirement. Is it too late?",
        "My partner says I'm \"bad with money\" and honestly I think they're right.",
        "I lent my brother $5,000 two years ago and he hasn't mentioned it since.",
        "I'm self-employed and my income swings between $3k and $12k a month. How do I budget for that?",
        "Every time I open my banking app my stomach drops. I just… close it again.",
        "What's the difference between a Roth IRA and a traditional one, in plain English?",
        "I have four credit cards and I don't even know the total anymore.",
        "My mom left me €40,000 and I feel guilty even thinking about spending it.",
        "Someone told me to \"just invest in index funds\" but what does that actually mean?",
        "I keep my budget in C:\\Users\\me\\Documents\\money.xlsx but I haven't opened it since March.",
        "We had our second kid and suddenly the numbers don't work. I feel like I'm failing them.",
        "Is it stupid that I keep $30,000 in a savings account earning almost nothing?",
        "My employer matches 4% but I'm only putting in 2%. Should I feel bad about that?",
        "I got a letter from the IRS and I haven't opened it. It's been on the counter for a week.",
    ];

    private static readonly string[] Openers =
    [
        "That tightness you're describing is your body telling you money feels unsafe right now; naming it is the first step.",
        "Thank you for telling me that — it takes real courage to say it out loud.",
        "It makes complete sense that you'd feel that way, and you're not behind in the way you fear.",
        "I hear a lot of self-judgment in how you phrased that, so let's set \"should\" aside for a moment.",
        "Feeling frozen is a very normal response to uncertainty, not a character flaw.",
        "You've already done the hardest part, which is looking at it instead of looking away.",
    ];

    private static readonly string[] Guidance =
    [
        "Here's a simple first step: list each debt with its balance, rate and minimum payment.\n\n1. Card A: $9,200 at 24.99%\n2. Card B: $6,100 at 19.5%\n3. Card C: $5,000 at 17%",
        "A useful rule of thumb is to keep three to six months of essential expenses in an emergency fund before investing aggressively.",
        "For variable income, many people budget from their lowest typical month (say $3,000) and treat anything above it as a \"bonus\" that goes to savings first.",
        "An index fund simply holds a small slice of many companies, so no single one can sink you; the fees matter more than the name on the label.",
        "With a Roth, you pay tax now and withdrawals are tax-free later; with a traditional account it's the reverse — the \"when\" of taxes is the whole difference.",
        "Capturing the full employer match is usually the highest-return move available: it's an instant 100% return on that slice of your pay.",
        "Windows paths like C:\\Users\\you\\Documents\\budget.xlsx are fine to keep your spreadsheet in; what matters is that you open it weekly.",
        "Opening the letter is often less frightening than imagining it. Most IRS notices are requests for information, and they come with clear deadlines.",
        "Try a \"money date\": twenty minutes, once a week, with a cup of tea ☕ and one small task — no more.",
        "If you picture the next ten years as three buckets (now, soon, later), each dollar gets a job and the anxiety has somewhere to go.",
    ];

    private static readonly string[] Closers =
    [
        "Take a breath — we'll figure this out together.",
        "Small, steady steps add up faster than you'd think!",
        "What feels like the smallest next step you could take this week?",
        "How does that land for you?",
        "You don't have to solve all of it today; you just have to start.",
    ];

    /// <summary>Reads <c>Persona:</c>, <c>Emotional arc:</c> and <c>Topic:</c> lines from the prompt; draws the rest.</summary>
    public static ConversationSpec SpecFor(string prompt, Random random)
    {
        string? persona = null, arc = null, topic = null;
        foreach (Match match in SpecLine().Matches(prompt))
        {
            var value = match.Groups["value"].Value.Trim();
            switch (match.Groups["key"].Value.ToLowerInvariant().Replace(' ', '_'))
            {
                case "persona":
                    persona ??= value;
                    break;
                case "emotional_arc" or "arc":
                    arc ??= value;
                    break;
                case "training_topic" or "topic":
                    topic ??= value;
                    break;
            }
        }

        return new ConversationSpec(
            persona ?? Personas[random.Next(Personas.Length)],
            arc ?? Arcs[random.Next(Arcs.Length)],
            topic ?? Topics[random.Next(Topics.Length)]);
    }

    /// <summary>
    /// Writes the longest conversation (in user/assistant pairs, at least one pair) whose text is at most
    /// <paramref name="maxChars"/> characters, aiming for <paramref name="targetChars"/>. The result may exceed
    /// <paramref name="maxChars"/> only when a single pair does.
    /// </summary>
    public static string Write(ConversationSpec spec, Random random, int targetChars, int maxChars, bool indented)
    {
        var turns = AddPair([], random);
        var text = Serialize(spec, turns, indented);
        while (text.Length < targetChars)
        {
            var candidate = AddPair([.. turns], random);
            var longer = Serialize(spec, candidate, indented);
            if (longer.Length > maxChars)
            {
                break;
            }

            turns = candidate;
            text = longer;
        }

        return text;
    }

    private static List<(string Role, string Content)> AddPair(List<(string Role, string Content)> turns, Random random)
    {
        turns.Add(("user", UserLines[random.Next(UserLines.Length)]));
        var parts = new List<string> { Openers[random.Next(Openers.Length)] };
        var guidance = 1 + random.Next(3);
        for (var i = 0; i < guidance; i++)
        {
            parts.Add(Guidance[random.Next(Guidance.Length)]);
        }

        parts.Add(Closers[random.Next(Closers.Length)]);
        turns.Add(("assistant", string.Join(random.Next(3) == 0 ? "\n\n" : " ", parts)));
        return turns;
    }

    private static string Serialize(ConversationSpec spec, List<(string Role, string Content)> turns, bool indented)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, indented ? Indented : Compact))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("conversation_metadata");
            writer.WriteString("persona", spec.Persona);
            writer.WriteString("emotional_arc", spec.EmotionalArc);
            writer.WriteString("training_topic", spec.TrainingTopic);
            writer.WriteNumber("turn_count", turns.Count);
            writer.WriteEndObject();
            writer.WriteStartArray("turns");
            foreach (var (role, content) in turns)
            {
                writer.WriteStartObject();
                writer.WriteString("role", role);
                writer.WriteString("content", content);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    [GeneratedRegex(@"^[ \t]*(?<key>persona|emotional[ _]arc|arc|training[ _]topic|topic)[ \t]*:[ \t]*(?<value>\S[^\r\n]*)$",
        RegexOptions.IgnoreCase | RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex SpecLine();
}
