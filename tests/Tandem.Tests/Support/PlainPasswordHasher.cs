using Microsoft.AspNetCore.Identity;
using Tandem.Trust;

namespace Tandem.Tests.Support;

/// <summary>
/// A password hasher without the work factor, so service tests run fast and can read what is stored:
/// "version:password". A hash of the <paramref name="accepts"/> version verifies but asks for a rehash.
/// </summary>
internal sealed class PlainPasswordHasher(string version = "plain", string? accepts = null) : IPasswordHasher<Member>
{
    public string HashPassword(Member user, string password) => version + ":" + password;

    public PasswordVerificationResult VerifyHashedPassword(Member user, string hashedPassword, string providedPassword) =>
        hashedPassword == version + ":" + providedPassword ? PasswordVerificationResult.Success
        : accepts is not null && hashedPassword == accepts + ":" + providedPassword ? PasswordVerificationResult.SuccessRehashNeeded
        : PasswordVerificationResult.Failed;
}
