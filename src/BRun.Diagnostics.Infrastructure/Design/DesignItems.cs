namespace BRun.Diagnostics.Infrastructure.Design;

/// <summary>The three kinds of scaffolding a template is filled with, and their tables.</summary>
public enum ScaffoldingKind
{
    Persona,
    EmotionalArc,
    TrainingTopic,
}

public static class ScaffoldingKinds
{
    public static IReadOnlyList<ScaffoldingKind> All { get; } = [ScaffoldingKind.Persona, ScaffoldingKind.EmotionalArc, ScaffoldingKind.TrainingTopic];

    /// <summary>As stored in <c>run_scaffolding.kind</c> and used in the API.</summary>
    public static string ToWire(this ScaffoldingKind kind) => kind switch
    {
        ScaffoldingKind.Persona => "persona",
        ScaffoldingKind.EmotionalArc => "emotional_arc",
        ScaffoldingKind.TrainingTopic => "training_topic",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>What a person reads.</summary>
    public static string Label(this ScaffoldingKind kind) => kind switch
    {
        ScaffoldingKind.Persona => "persona",
        ScaffoldingKind.EmotionalArc => "emotional arc",
        ScaffoldingKind.TrainingTopic => "training topic",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>The table; the only place SQL table names for scaffolding come from.</summary>
    internal static string Table(this ScaffoldingKind kind) => kind switch
    {
        ScaffoldingKind.Persona => "personas",
        ScaffoldingKind.EmotionalArc => "emotional_arcs",
        ScaffoldingKind.TrainingTopic => "training_topics",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}

/// <summary>Who may see an item: built-in (seeded, owned by nobody), shared by an admin, or private to its owner.</summary>
public enum DesignVisibility
{
    BuiltIn,
    Shared,
    Private,
}

/// <summary>A persona, emotional arc or training topic. Times are UTC.</summary>
public sealed record ScaffoldingRecord(
    Guid Id,
    ScaffoldingKind Kind,
    string Key,
    string Name,
    string Description,
    Guid? OwnerId,
    string? OwnerEmail,
    bool Shared,
    DateTime? ArchivedAt,
    DateTime UpdatedAt)
{
    public DesignVisibility Visibility => OwnerId is null ? DesignVisibility.BuiltIn : Shared ? DesignVisibility.Shared : DesignVisibility.Private;
    public bool IsArchived => ArchivedAt is not null;
}

/// <summary>A prompt template with its current body and version number. Times are UTC.</summary>
public sealed record TemplateRecord(
    Guid Id,
    string Name,
    string Body,
    int CurrentVersion,
    Guid? OwnerId,
    string? OwnerEmail,
    bool Shared,
    DateTime? ArchivedAt,
    DateTime UpdatedAt)
{
    public DesignVisibility Visibility => OwnerId is null ? DesignVisibility.BuiltIn : Shared ? DesignVisibility.Shared : DesignVisibility.Private;
    public bool IsArchived => ArchivedAt is not null;
}

/// <summary>One immutable version of a template. Times are UTC.</summary>
public sealed record TemplateVersionRecord(
    Guid Id,
    Guid TemplateId,
    string TemplateName,
    int Version,
    string Body,
    Guid? CreatedBy,
    DateTime CreatedAt);

/// <summary>A name is already taken among the items the caller owns, or among the shared ones.</summary>
public sealed class DesignConflictException(string message) : InvalidOperationException(message);

/// <summary>The item does not exist or the caller may not see (or change) it.</summary>
public sealed class DesignNotFoundException(string message) : InvalidOperationException(message);
