// A Swift file with one syntax error, on line 4 (a parameter list that is never closed):
// the syntax check must report it as broken.swift:4.
struct Broken {
    func f(x: Int {
        print(x)
    }
}
