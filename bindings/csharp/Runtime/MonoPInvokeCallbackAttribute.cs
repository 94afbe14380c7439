// Unity's IL2CPP compiles C# ahead of time: a method native code calls back (a reverse
// P/Invoke) must be static and marked with an attribute named AOT.MonoPInvokeCallbackAttribute,
// so IL2CPP generates its native entry point. Unity ships that attribute; outside Unity
// (Mono, .NET) this internal one with the same name and constructor stands in for it, so the
// same callbacks compile everywhere.
#if !UNITY_5_3_OR_NEWER
namespace AOT
{
    /// <summary>Marks a static method that native code calls through a delegate.</summary>
    [System.AttributeUsage(System.AttributeTargets.Method)]
    internal sealed class MonoPInvokeCallbackAttribute : System.Attribute
    {
        /// <summary>The delegate type native code calls the method as.</summary>
        public MonoPInvokeCallbackAttribute(System.Type type)
        {
            Type = type;
        }

        /// <summary>The delegate type native code calls the method as.</summary>
        public System.Type Type { get; private set; }
    }
}
#endif
