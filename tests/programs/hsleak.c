/*
 * hsleak: a CPython extension that leaks references on purpose, as C
 * extensions do when a Py_DECREF is missing. leak(n) makes n Widget objects
 * and drops its only reference to each without releasing it; hold(obj)
 * takes a reference to obj it never gives back. heapscope must find the
 * widgets (refcount 1, no reference anywhere), the held object (a refcount
 * one above the references found), and name leak() as the allocating stack.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef struct {
    PyObject_HEAD
    long n;
} Widget;

static PyTypeObject WidgetType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hsleak.Widget",
    .tp_basicsize = sizeof(Widget),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
};

static PyObject *leak(PyObject *self, PyObject *arg)
{
    (void)self;
    long n = PyLong_AsLong(arg);
    if (n < 0 && PyErr_Occurred())
        return NULL;
    for (long i = 0; i < n; i++) {
        Widget *w = PyObject_New(Widget, &WidgetType);
        if (!w)
            return NULL;
        w->n = i; /* the bug: no Py_DECREF(w) */
    }
    Py_RETURN_NONE;
}

static PyObject *hold(PyObject *self, PyObject *obj)
{
    (void)self;
    Py_INCREF(obj); /* the bug: kept nowhere, never released */
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    { "leak", leak, METH_O, "makes n Widgets and leaks each one's reference" },
    { "hold", hold, METH_O, "takes a reference to obj and never releases it" },
    { NULL, NULL, 0, NULL },
};

static struct PyModuleDef module = { PyModuleDef_HEAD_INIT, "hsleak", NULL, -1, methods };

PyMODINIT_FUNC PyInit_hsleak(void)
{
    if (PyType_Ready(&WidgetType) < 0)
        return NULL;
    return PyModule_Create(&module);
}
