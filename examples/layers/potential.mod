# The potential of every h-BN input of this folder (included by them): an intralayer
# potential beside LAMMPS' interlayer potential ilp/graphene/hbn (BNCH.ILP, Ouyang et al.,
# Nano Lett. 18, 6009 (2018)) and coul/shield, as in LAMMPS' examples/PACKAGES/interlayer.
# Atom types: 1 B, 2 N of odd layers; 3 B, 4 N of even layers; molecule ID = layer.
#
#   intra = areanet   pair_style areanet, once, for all four types: the molecule ID keeps
#                     each area element inside its own layer (and a charged model's sheet
#                     Coulomb inside it)
#   intra = extep     ExTeP (BN.extep), the usual classical choice, listed once per type
#                     pair (B N of odd layers, B N of even layers) with NULL masks -- ExTeP
#                     knows no molecule IDs; its 2.x A cutoff never reaches the next layer
#   intra = tersoff   Tersoff (BNC.tersoff, Kinaci et al. 2012), the intralayer potential of
#                     LAMMPS' own ILP example (examples/PACKAGES/interlayer), listed the
#                     same way as ExTeP
#
# The charges of the data file (+-0.42 e) are coul/shield's; areanet does not read them.

variable        intra index areanet
variable        model index ../../models/hbn-extep.pt
variable        ilp index BNCH.ILP     # or BNC_MBD_bulk.ILP (the wheel's bulk-fitted parameters)

if "${intra} == areanet" then &
  "pair_style   hybrid/overlay areanet ilp/graphene/hbn 16.0 1 coul/shield 16.0 1" &
  "pair_coeff   * * areanet ${model} B N B N" &
elif "${intra} == extep" &
  "pair_style   hybrid/overlay extep extep ilp/graphene/hbn 16.0 1 coul/shield 16.0 1" &
  "pair_coeff   * * extep 1 BN.extep B N NULL NULL" &
  "pair_coeff   * * extep 2 BN.extep NULL NULL B N" &
elif "${intra} == tersoff" &
  "pair_style   hybrid/overlay tersoff tersoff ilp/graphene/hbn 16.0 1 coul/shield 16.0 1" &
  "pair_coeff   * * tersoff 1 BNC.tersoff B N NULL NULL" &
  "pair_coeff   * * tersoff 2 BNC.tersoff NULL NULL B N" &
else &
  "print 'potential.mod: intra must be areanet, extep or tersoff, not ${intra}'" &
  "quit 1"

pair_coeff      * * ilp/graphene/hbn ${ilp} B N B N
# shielding parameters lambda (1/A) of LAMMPS' ILP example: B-B 0.70, N-N 0.69, B-N their
# geometric mean (coul/shield itself skips pairs of the same molecule)
pair_coeff      1 1 coul/shield 0.70
pair_coeff      1 2 coul/shield 0.69498201415576216335
pair_coeff      1 3 coul/shield 0.70
pair_coeff      1 4 coul/shield 0.69498201415576216335
pair_coeff      2 2 coul/shield 0.69
pair_coeff      2 3 coul/shield 0.69498201415576216335
pair_coeff      2 4 coul/shield 0.69
pair_coeff      3 3 coul/shield 0.70
pair_coeff      3 4 coul/shield 0.69498201415576216335
pair_coeff      4 4 coul/shield 0.69

neighbor        1.0 bin
neigh_modify    every 1 delay 0 check yes one 10000 page 200000   # bulk: ~3000 neighbours in 17 A

compute         ilp all pair ilp/graphene/hbn
compute         coul all pair coul/shield
variable        einter equal c_ilp+c_coul      # interlayer: ILP + coul/shield (eV)
variable        eintra equal pe-v_einter       # intralayer: ${intra} (eV)
