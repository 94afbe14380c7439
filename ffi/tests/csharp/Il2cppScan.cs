// Scans a compiled assembly for what breaks under IL2CPP (Unity's ahead-of-time compiler),
// walking every method body's IL:
//   - every delegate handed to native code (a delegate type marked [UnmanagedFunctionPointer],
//     as the generated P/Invoke declarations and the journal binding use) is made from a
//     static, non-generic method marked [MonoPInvokeCallback(typeof(that delegate))], and kept
//     in a static readonly field (never collected while native code holds it); a function
//     pointer taken with Marshal.GetFunctionPointerForDelegate comes from such a field;
//   - no generic virtual method (IL2CPP cannot always generate their instantiations);
//   - no reflection IL2CPP strips or cannot run (System.Reflection, Type.GetMethod/GetField/
//     GetProperty/InvokeMember, Type.GetType(string), Activator.CreateInstance,
//     Assembly.Load, System.Reflection.Emit, System.Linq.Expressions, dynamic).
// args: ASSEMBLY; prints each problem, then il2cpp: callbacks=N delegates=N problems=N;
// exits 1 when there is a problem.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.InteropServices;

static class Il2cppScan
{
    const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static
        | BindingFlags.DeclaredOnly;

    static readonly Dictionary<short, OpCode> opcodes = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)).ToDictionary(o => o.Value);

    static readonly List<string> problems = new List<string>();

    static void Problem(string what) { problems.Add(what); Console.WriteLine("problem: " + what); }

    struct Instruction
    {
        public OpCode Code;
        public int Token;
    }

    /// <summary>The instructions of a body, with their metadata tokens (0 when none).</summary>
    static List<Instruction> Decode(byte[] il)
    {
        var list = new List<Instruction>();
        for (var i = 0; i < il.Length;)
        {
            short value = il[i++];
            if (value == 0xFE) value = (short)(0xFE00 | il[i++]);
            OpCode code;
            if (!opcodes.TryGetValue(value, out code)) throw new InvalidOperationException("unknown opcode " + value);
            var token = 0;
            switch (code.OperandType)
            {
                case OperandType.InlineNone: break;
                case OperandType.ShortInlineBrTarget:
                case OperandType.ShortInlineI:
                case OperandType.ShortInlineVar: i += 1; break;
                case OperandType.InlineVar: i += 2; break;
                case OperandType.InlineI8:
                case OperandType.InlineR: i += 8; break;
                case OperandType.InlineSwitch: i += 4 + 4 * BitConverter.ToInt32(il, i); break;
                case OperandType.InlineField:
                case OperandType.InlineMethod:
                case OperandType.InlineTok:
                case OperandType.InlineType:
                case OperandType.InlineSig:
                case OperandType.InlineString:
                    token = BitConverter.ToInt32(il, i);
                    i += 4;
                    break;
                default: i += 4; break;
            }
            list.Add(new Instruction { Code = code, Token = token });
        }
        return list;
    }

    static bool IsNativeDelegate(Type type)
    {
        return type != null && typeof(MulticastDelegate).IsAssignableFrom(type)
            && type.GetCustomAttributes(typeof(UnmanagedFunctionPointerAttribute), false).Length > 0;
    }

    static string Name(MethodBase method) { return method.DeclaringType.FullName + "." + method.Name; }

    static Type CallbackAttributeType(MethodBase method)
    {
        foreach (var data in CustomAttributeData.GetCustomAttributes(method))
        {
            if (data.Constructor.DeclaringType.Name == "MonoPInvokeCallbackAttribute" && data.ConstructorArguments.Count == 1)
            {
                return data.ConstructorArguments[0].Value as Type;
            }
        }
        return null;
    }

    static readonly string[] reflective = { "GetMethod", "GetMethods", "GetField", "GetFields", "GetProperty", "GetProperties", "GetMember", "GetMembers", "InvokeMember", "GetConstructor", "GetConstructors" };

    static bool Reflective(MethodBase called)
    {
        var type = called.DeclaringType;
        if (type == null) return false;
        var ns = type.Namespace ?? "";
        if (ns == "System.Reflection" || ns.StartsWith("System.Reflection.") || ns.StartsWith("System.Linq.Expressions")
            || ns.StartsWith("Microsoft.CSharp")) return true;
        if (type == typeof(Activator) && called.Name == "CreateInstance") return true;
        if (type == typeof(Type) && (reflective.Contains(called.Name)
            || (called.Name == "GetType" && called.GetParameters().Length > 0))) return true;
        return false;
    }

    static int Main(string[] args)
    {
        var assembly = Assembly.LoadFrom(args[0]);
        var types = assembly.GetTypes();
        var callbacks = 0;
        var delegates = 0;
        foreach (var type in types)
        {
            foreach (var method in type.GetMethods(All).Where(m => m.IsVirtual && m.IsGenericMethodDefinition))
            {
                Problem("generic virtual method " + Name(method));
            }
            var bodies = type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All));
            foreach (var method in bodies)
            {
                var callback = CallbackAttributeType(method);
                if (callback != null)
                {
                    callbacks++;
                    if (!method.IsStatic) Problem("[MonoPInvokeCallback] on an instance method " + Name(method));
                    if (method.IsGenericMethodDefinition || method.DeclaringType.IsGenericType) Problem("generic callback " + Name(method));
                    if (!IsNativeDelegate(callback)) Problem(Name(method) + " names " + callback + ", not a native delegate type");
                }
                var body = method.GetMethodBody();
                if (body == null) continue;
                var il = Decode(body.GetILAsByteArray());
                for (var i = 0; i < il.Count; i++)
                {
                    var op = il[i].Code;
                    if (op != OpCodes.Call && op != OpCodes.Callvirt && op != OpCodes.Newobj && op != OpCodes.Ldftn) continue;
                    MethodBase called;
                    try
                    {
                        called = method.Module.ResolveMethod(il[i].Token, method.DeclaringType.IsGenericType ? method.DeclaringType.GetGenericArguments() : null,
                            method.IsGenericMethod ? method.GetGenericArguments() : null);
                    }
                    catch (Exception)
                    {
                        continue;
                    }
                    if (op != OpCodes.Ldftn && Reflective(called)) Problem(Name(method) + " calls " + Name(called) + " (reflection)");
                    if (op == OpCodes.Call && called.Name == "GetFunctionPointerForDelegate" && called.DeclaringType == typeof(Marshal))
                    {
                        var from = i > 0 && il[i - 1].Code == OpCodes.Ldsfld ? method.Module.ResolveField(il[i - 1].Token) : null;
                        if (from == null || !from.IsStatic || !from.IsInitOnly || !IsNativeDelegate(from.FieldType))
                        {
                            Problem(Name(method) + " takes a function pointer of a delegate not in a static readonly field");
                        }
                    }
                    if (op == OpCodes.Newobj && IsNativeDelegate(called.DeclaringType))
                    {
                        delegates++;
                        var target = i > 0 && il[i - 1].Code == OpCodes.Ldftn
                            ? method.Module.ResolveMethod(il[i - 1].Token) : null;
                        if (target == null || !target.IsStatic)
                        {
                            Problem(Name(method) + " makes a " + called.DeclaringType.Name + " of an instance method or a closure");
                        }
                        else if (CallbackAttributeType(target) != called.DeclaringType)
                        {
                            Problem(Name(target) + " is handed to native code as " + called.DeclaringType.Name
                                + " without [MonoPInvokeCallback(typeof(" + called.DeclaringType.Name + "))]");
                        }
                        var next = i + 1 < il.Count ? il[i + 1] : default(Instruction);
                        var field = next.Code == OpCodes.Stsfld ? method.Module.ResolveField(next.Token) : null;
                        // mcs caches a method group's delegate in a compiler-generated field
                        // first (stsfld <>f__mg$cacheN; ldsfld <>f__mg$cacheN): look past it.
                        if (field != null && field.Name.StartsWith("<>") && i + 3 < il.Count
                            && il[i + 2].Code == OpCodes.Ldsfld && il[i + 2].Token == next.Token)
                        {
                            next = il[i + 3];
                            field = next.Code == OpCodes.Stsfld ? method.Module.ResolveField(next.Token) : null;
                        }
                        if (field == null || !field.IsStatic || !field.IsInitOnly)
                        {
                            Problem(Name(method) + " does not keep its " + called.DeclaringType.Name + " in a static readonly field (next: "
                                + next.Code.Name + (field == null ? "" : " " + field.Name) + ")");
                        }
                    }
                }
            }
        }
        Console.WriteLine("il2cpp: callbacks=" + callbacks + " delegates=" + delegates + " problems=" + problems.Count);
        return problems.Count == 0 ? 0 : 1;
    }
}
