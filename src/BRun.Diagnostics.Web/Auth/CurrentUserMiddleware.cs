namespace BRun.Diagnostics.Web.Auth;

/// <summary>Hands the authenticated request's principal to the scoped <see cref="CurrentUser"/>.</summary>
internal sealed class CurrentUserMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context, CurrentUser currentUser)
    {
        currentUser.SetPrincipal(context.User);
        return next(context);
    }
}
