namespace BRun.Diagnostics.Infrastructure.Database;

/// <summary>
/// Who a database session acts for. A user session runs as role <c>brun_app</c> with <c>app.user_id</c> set, so
/// row-level security shows it its own rows (all rows when the database says the user is an admin). The system
/// session runs as <c>brun_system</c>, for maintenance jobs only (report upload retries, user administration).
/// </summary>
public sealed record DbIdentity
{
    private DbIdentity(Guid? userId) => UserId = userId;

    /// <summary>Maintenance: sees every row. Never hand this to a dashboard request.</summary>
    public static DbIdentity System { get; } = new((Guid?)null);

    public Guid? UserId { get; }

    public bool IsSystem => UserId is null;

    public static DbIdentity User(Guid userId) =>
        userId == Guid.Empty ? throw new ArgumentException("A user id is required.", nameof(userId)) : new(userId);

    public override string ToString() => UserId is { } id ? $"user {id}" : "system";
}
