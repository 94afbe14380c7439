// What the IL2CPP scan must catch, one of each (never shipped; compiled only to be scanned).
using System;
using System.Runtime.InteropServices;

namespace AOT
{
    [AttributeUsage(AttributeTargets.Method)]
    public sealed class MonoPInvokeCallbackAttribute : Attribute
    {
        public MonoPInvokeCallbackAttribute(Type type) { Type = type; }

        public Type Type { get; private set; }
    }
}

public static class Bad
{
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int Fn(IntPtr userData);

    [DllImport("nothing")]
    private static extern void take(Fn callback);

    private static int Unmarked(IntPtr userData) { return 0; }

    /// <summary>A closure handed to native code.</summary>
    public static void Closure(int x) { take(userData => x); }

    /// <summary>A static method without [MonoPInvokeCallback], not kept in a field.</summary>
    public static void NotMarked() { take(Unmarked); }

    /// <summary>Reflection IL2CPP strips.</summary>
    public static object Reflect(object o) { return o.GetType().GetMethod("ToString"); }
}

public sealed class Holder
{
    [AOT.MonoPInvokeCallback(typeof(Bad.Fn))]
    public int Instance(IntPtr userData) { return 0; }
}

public abstract class Virtual
{
    public abstract T Make<T>();
}
