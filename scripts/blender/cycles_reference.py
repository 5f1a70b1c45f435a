# Cycles reference render of one light-stage sample, driven by a JSON scene description that
# scripts/bench/fidelity/blender.ts writes from a sample spec:
#
#   blender -b --factory-startup -P scripts/blender/cycles_reference.py -- scene.json
#
# Frames: the scene JSON is in OUR world (metres, +Y up, face +Z). Blender is Z-up, so every
# position/matrix goes through C: our (x, y, z) -> Blender (x, -z, y) (a rotation, no mirror).
# The environment image in the JSON is normally already resampled by the TS side so that
# Blender's own equirect lookup returns our renderer's radiance for every direction (no mapping).
# Writes one 32-bit linear RGBA EXR per seed (A = coverage with a transparent film) and
# <scene>.result.json with timings and the head-placement check.
import os
import json
import math
import sys
import time

import bpy
import numpy as np
from mathutils import Matrix, Vector

# Debian's numpy 1.24 dropped np.bool, which Blender 3.4's glTF importer still uses.
if not hasattr(np, "bool"):
    np.bool = bool  # type: ignore[attr-defined]

t_start = time.perf_counter()
argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
if len(argv) != 1:
    raise SystemExit("usage: blender -b --factory-startup -P cycles_reference.py -- scene.json")
scene_path = argv[0]
with open(scene_path) as f:
    S = json.load(f)

# our world -> Blender world
C = Matrix(((1, 0, 0, 0), (0, 0, -1, 0), (0, 1, 0, 0), (0, 0, 0, 1)))


def vec_b(p):
    return (C @ Vector((p[0], p[1], p[2], 1.0))).xyz


bpy.ops.wm.read_factory_settings(use_empty=True)
sc = bpy.context.scene

# ---------------------------------------------------------------------------------- head
head = S["head"]
t0 = time.perf_counter()
before = set(bpy.data.objects)
bpy.ops.import_scene.gltf(filepath=head["mesh"])
imported = [o for o in bpy.data.objects if o not in before]
meshes = [o for o in imported if o.type == "MESH"]
if not meshes:
    raise SystemExit(f"no mesh imported from {head['mesh']}")
import_s = time.perf_counter() - t0

# The importer already applied C to the file's (glTF) coordinates; undo it, apply the
# descriptor's source -> canonical matrix (column-major, as Babylon takes it), redo C.
M = head["toCanonical"]
canon = Matrix([[M[c * 4 + r] for c in range(4)] for r in range(4)])
to_world = C @ canon @ C.inverted()
bpy.context.view_layer.update()
for o in meshes:
    o.matrix_world = to_world @ o.matrix_world
bpy.context.view_layer.update()

# Centre: the renderer centres the canonical bounding box; do the same in Blender.
lo = Vector((math.inf,) * 3)
hi = Vector((-math.inf,) * 3)
for o in meshes:
    n = len(o.data.vertices)
    co = np.empty(n * 3, dtype=np.float32)
    o.data.vertices.foreach_get("co", co)
    co = co.reshape(-1, 3)
    mw = np.array(o.matrix_world)
    w = co @ mw[:3, :3].T + mw[:3, 3]
    lo = Vector(np.minimum(np.array(lo), w.min(0)))
    hi = Vector(np.maximum(np.array(hi), w.max(0)))
centre = (lo + hi) / 2
for o in meshes:
    o.matrix_world = Matrix.Translation(-centre) @ o.matrix_world
bpy.context.view_layer.update()
bbox_b = [list(lo - centre), list(hi - centre)]
# Back to our frame for the report: Blender (X, Y, Z) = our (x, -z, y).
lo_b, hi_b = bbox_b
bbox_ours = [[lo_b[0], lo_b[2], -hi_b[1]], [hi_b[0], hi_b[2], -lo_b[1]]]

# glTF importer flips v (glTF top-left -> Blender bottom-left); a mesh whose UVs were already
# bottom-left (OpenGL) needs it flipped back, as the renderer does with invertY.
if head["flipV"]:
    for o in meshes:
        for layer in o.data.uv_layers:
            uv = np.empty(len(layer.data) * 2, dtype=np.float32)
            layer.data.foreach_get("uv", uv)
            uv[1::2] = 1.0 - uv[1::2]
            layer.data.foreach_set("uv", uv)


def image_node(nodes, path, colorspace):
    n = nodes.new("ShaderNodeTexImage")
    n.image = bpy.data.images.load(path)
    n.image.colorspace_settings.name = colorspace
    n.interpolation = "Linear"
    return n


mat = bpy.data.materials.new("skin")
mat.use_nodes = True
nt = mat.node_tree
nodes, links = nt.nodes, nt.links
bsdf = nodes["Principled BSDF"]
bsdf.distribution = "GGX"
bsdf.subsurface_method = "BURLEY"
bsdf.inputs["Subsurface"].default_value = 0.0
bsdf.inputs["Metallic"].default_value = 0.0
bsdf.inputs["Specular Tint"].default_value = 0.0
bsdf.inputs["Sheen"].default_value = 0.0
bsdf.inputs["Clearcoat"].default_value = 0.0
af = head["albedoFactor"]
if head.get("albedo"):
    alb = image_node(nodes, head["albedo"], "sRGB")
    if af != [1, 1, 1]:
        mul = nodes.new("ShaderNodeMixRGB")
        mul.blend_type = "MULTIPLY"
        mul.inputs["Fac"].default_value = 1.0
        mul.inputs["Color2"].default_value = (*af, 1.0)
        links.new(alb.outputs["Color"], mul.inputs["Color1"])
        links.new(mul.outputs["Color"], bsdf.inputs["Base Color"])
    else:
        links.new(alb.outputs["Color"], bsdf.inputs["Base Color"])
else:
    bsdf.inputs["Base Color"].default_value = (*af, 1.0)

# Principled (v1) dielectric F0 = 0.08 * Specular; a specular map scales F0 about its mean
# (the renderer's metallicReflectanceColor = 1 / mean).
spec_const = head["specularF0"] / 0.08
if head.get("specular"):
    sp = image_node(nodes, head["specular"], "Non-Color")
    sep = nodes.new("ShaderNodeSeparateColor")
    k = nodes.new("ShaderNodeMath")
    k.operation = "MULTIPLY"
    k.inputs[1].default_value = spec_const / max(head["specularMapMean"], 1e-3)
    links.new(sp.outputs["Color"], sep.inputs["Color"])
    links.new(sep.outputs[0], k.inputs[0])
    links.new(k.outputs[0], bsdf.inputs["Specular"])
else:
    bsdf.inputs["Specular"].default_value = spec_const

# Roughness: the renderer reads G of the roughness map (and sets its scalar to 1), else the scalar.
if head.get("roughnessMap"):
    rm = image_node(nodes, head["roughnessMap"], "Non-Color")
    sep = nodes.new("ShaderNodeSeparateColor")
    links.new(rm.outputs["Color"], sep.inputs["Color"])
    links.new(sep.outputs[1], bsdf.inputs["Roughness"])
else:
    bsdf.inputs["Roughness"].default_value = head["roughness"]

if head.get("normal"):
    nm = image_node(nodes, head["normal"], "Non-Color")
    nmap = nodes.new("ShaderNodeNormalMap")
    nmap.space = "TANGENT"
    nmap.uv_map = meshes[0].data.uv_layers.active.name if meshes[0].data.uv_layers else ""
    nmap.inputs["Strength"].default_value = head["normalScale"]
    src = nm.outputs["Color"]
    if not head["normalGreenUp"]:  # DirectX maps: flip green for Blender's OpenGL convention
        sep = nodes.new("ShaderNodeSeparateColor")
        inv = nodes.new("ShaderNodeMath")
        inv.operation = "SUBTRACT"
        inv.inputs[0].default_value = 1.0
        comb = nodes.new("ShaderNodeCombineColor")
        links.new(src, sep.inputs["Color"])
        links.new(sep.outputs[1], inv.inputs[1])
        links.new(sep.outputs[0], comb.inputs[0])
        links.new(inv.outputs[0], comb.inputs[1])
        links.new(sep.outputs[2], comb.inputs[2])
        src = comb.outputs["Color"]
    links.new(src, nmap.inputs["Color"])
    links.new(nmap.outputs["Normal"], bsdf.inputs["Normal"])

for o in meshes:
    o.data.materials.clear()
    o.data.materials.append(mat)

# ---------------------------------------------------------------------------------- camera
cam = S["camera"]
cd = bpy.data.cameras.new("cam")
cd.sensor_fit = "VERTICAL"
cd.sensor_height = 24.0
cd.lens = (cd.sensor_height / 2) / math.tan(cam["fovYRad"] / 2)
cd.clip_start = 0.01
cd.clip_end = 100.0
co = bpy.data.objects.new("cam", cd)
sc.collection.objects.link(co)
# cameraToWorldGL (row-major, our world): x right, y up, looking down -z: Blender's camera axes.
co.matrix_world = C @ Matrix(cam["cameraToWorldGL"])
sc.camera = co

# ---------------------------------------------------------------------------------- lights
world = bpy.data.worlds.new("world")
world.use_nodes = True
wn = world.node_tree.nodes
bg = wn["Background"]
W = S["world"]
if W["image"]:
    env = wn.new("ShaderNodeTexEnvironment")
    env.image = bpy.data.images.load(W["image"])
    env.image.colorspace_settings.name = "Linear"
    env.interpolation = "Linear"
    env.projection = "EQUIRECTANGULAR"
    if W["rotationZRad"]:
        # Only for the background check, which gives Blender the original file: turn it about
        # Blender's up axis (lookup at R^-1 d, so the mapping rotates by minus the angle).
        tc = wn.new("ShaderNodeTexCoord")
        mp = wn.new("ShaderNodeMapping")
        mp.vector_type = "POINT"
        mp.inputs["Rotation"].default_value = (0.0, 0.0, -W["rotationZRad"])
        world.node_tree.links.new(tc.outputs["Generated"], mp.inputs["Vector"])
        world.node_tree.links.new(mp.outputs["Vector"], env.inputs["Vector"])
    world.node_tree.links.new(env.outputs["Color"], bg.inputs["Color"])
    bg.inputs["Strength"].default_value = W["strength"]
else:
    bg.inputs["Color"].default_value = (0, 0, 0, 1)
    bg.inputs["Strength"].default_value = 0.0
sc.world = world

for i, pl in enumerate(S["pointLights"]):
    ld = bpy.data.lights.new(f"point{i}", "POINT")
    ld.energy = pl["powerW"]
    ld.color = pl["color"]
    ld.shadow_soft_size = pl["radius"]
    lo_ = bpy.data.objects.new(f"point{i}", ld)
    lo_.location = vec_b(pl["position"])
    sc.collection.objects.link(lo_)

# ---------------------------------------------------------------------------------- render
r = sc.render
r.engine = "CYCLES"
r.resolution_x = S["width"]
r.resolution_y = S["height"]
r.resolution_percentage = 100
r.pixel_aspect_x = r.pixel_aspect_y = 1
r.film_transparent = bool(S["transparent"])
r.image_settings.file_format = "OPEN_EXR"
r.image_settings.color_depth = "32"
r.image_settings.color_mode = "RGBA"
r.image_settings.exr_codec = "ZIP"
sc.view_settings.view_transform = "Standard"
sc.view_settings.look = "None"
sc.view_settings.exposure = 0.0
sc.view_settings.gamma = 1.0
cy = sc.cycles
cy.device = "CPU"
# Diagnostics only (never set by the bench): VLS_CYCLES_MAX_BOUNCES=0 renders direct light only.
if os.environ.get("VLS_CYCLES_MAX_BOUNCES"):
    cy.max_bounces = int(os.environ["VLS_CYCLES_MAX_BOUNCES"])
cy.samples = S["spp"]
cy.use_adaptive_sampling = False
cy.use_denoising = False
cy.pixel_filter_type = "BOX"  # a pixel's area, like MSAA coverage
cy.filter_width = 1.0

renders = []
for seed, out in zip(S["seeds"], S["outputs"]):
    cy.seed = seed
    r.filepath = out
    t1 = time.perf_counter()
    bpy.ops.render.render(write_still=True)
    renders.append({"seed": seed, "output": out, "renderS": time.perf_counter() - t1})

with open(S["resultJson"], "w") as f:
    json.dump({
        "blender": bpy.app.version_string,
        "importS": import_s,
        "renders": renders,
        "bboxOurs": bbox_ours,
        "totalS": time.perf_counter() - t_start,
    }, f, indent=1)
